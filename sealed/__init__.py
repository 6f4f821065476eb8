"""Secrets at rest: the vault keys, authenticated encryption bound to a context, and
the encrypted model field.

A leaf package every app may import (accounts, strategies and vault all keep
sealed values); it imports no app of this project, only Django and cryptography.
"""
