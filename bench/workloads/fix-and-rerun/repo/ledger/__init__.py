"""Invoices, VAT and monthly statements."""
