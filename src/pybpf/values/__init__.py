"""Typed values: codecs between BTF-typed bytes and Python values (``codec``) and
an object's global variables (``variables``, ``obj.globals``)."""
