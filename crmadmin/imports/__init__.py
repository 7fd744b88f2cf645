"""Importing customers, transactions and interactions from CSV and XLSX files.

reading (limits and type, then rows) -> mapping (columns to fields) -> validation (every row, problems per field,
matches) -> apply (one transaction, one log batch; undo). store keeps runs and remembered mappings.
"""
