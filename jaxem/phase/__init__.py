"""Direct phase retrieval from 4D-STEM (analysis package; imports no simulation code)."""
