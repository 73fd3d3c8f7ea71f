"""Strongroom: an AWS Secrets Manager compatible secrets service."""

__version__ = "0.1.0"
