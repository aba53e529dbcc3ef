"""crmcli: a customer-relationship manager for the terminal.

This module holds the version only: it must stay free of imports so that
``crm --help`` and ``crm --version`` start fast.
"""

__version__ = "0.1.0"
