"""tfvisrec: visually-aware fashion recommendation on TensorFlow."""
from setuptools import find_packages, setup

setup(
    name="tfvisrec",
    version="0.1.0",
    description="Visually-aware fashion recommendation: DVBPR, SAERS, I-VBPR, PAN, ImgRec and their baselines on TensorFlow.",
    long_description=open("README.md", encoding="utf-8").read(),
    long_description_content_type="text/markdown",
    license="Apache-2.0",
    python_requires=">=3.10,<3.14",
    packages=find_packages(include=["tfvisrec", "tfvisrec.*"]),
    install_requires=[
        "tensorflow>=2.21,<2.22",
        "tf-keras>=2.21,<2.22",
        "tensorboard>=2.20",
        "tensorflow-serving-api>=2.21,<2.22",
        "grpcio>=1.60",
        "grpcio-health-checking>=1.60",
        "absl-py>=2.0",
        "numpy>=1.26,<3",
        "pandas>=2.0",
        "pillow>=10.0",
        "matplotlib>=3.7",
        "pyyaml>=6.0",
    ],
    extras_require={
        "dev": ["pytest>=8", "pytest-xdist>=3.5", "pytest-timeout>=2.2"],
    },
    entry_points={
        "console_scripts": [
            "tfvisrec-train=tfvisrec.train:run",
            "tfvisrec-evaluate=tfvisrec.evaluate:run",
            "tfvisrec-data=tfvisrec.data.__main__:run",
            "tfvisrec-demo=tfvisrec.demo:run",
            "tfvisrec-export=tfvisrec.export:run",
            "tfvisrec-server=tfvisrec.server:run",
            "tfvisrec-client=tfvisrec.client:run",
            "tfvisrec-interactive=tfvisrec.interactive:run",
            "tfvisrec-trends=tfvisrec.trends:run",
            "tfvisrec-explain=tfvisrec.explain:run",
        ],
    },
)
