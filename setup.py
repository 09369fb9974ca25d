"""Package discovery, the one thing pyproject.toml cannot say: `packages.find` finds only
directories under engine/, and the data lists live in data/ (mapped to engine.data there)."""

from setuptools import find_packages, setup

setup(packages=[*find_packages(include=["engine", "engine.*"]), "engine.data"])
