"""Tests of the depots package."""
