"""cephalo_ray: a Ray factory for domain vision-language models.

Importing the package loads nothing heavy; every stage imports Ray, torch or pymupdf when it runs.
"""

__version__ = "0.1.0"
