"""Tests of the Kafka depot log against a real broker process (tansu) on loopback."""
