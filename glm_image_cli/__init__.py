"""glm-image: text-to-image on Zhipu BigModel / Z.ai from the command line."""

__version__ = "0.1.0"
