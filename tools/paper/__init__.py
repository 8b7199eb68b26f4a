"""The paired-experiment kit: baseline and RLA runs, their report."""
