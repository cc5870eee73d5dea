"""CAPA Monitor: is each clinician's CAPA job plan being delivered, and are lost slots offered again?"""

__version__ = "0.1.0"
