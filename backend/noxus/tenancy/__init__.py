"""Tenancy: customers and their sites."""
