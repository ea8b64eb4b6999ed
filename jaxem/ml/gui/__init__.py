"""Browser GUI for FFT annotation (``jaxem ml gui``): :func:`serve`, :func:`make_server`."""
from .server import Session, make_server, serve

__all__ = ["Session", "make_server", "serve"]
