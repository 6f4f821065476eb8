"""The paper exchange: a simulated spot exchange behind the ccxt interface.

Users link a "Paper" key to try the product without money or network; tests and
benchmarks use it too. ``paper.exchange.PaperExchange`` is the entry point.
"""
