"""synthclf: can an LLM write the training data for your text classifier?"""

__version__ = "0.1.0"
