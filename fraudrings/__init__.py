"""fraudrings: graph-based detection of collusive loan-application rings."""

__version__ = "0.1.0"
