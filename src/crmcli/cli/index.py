"""Every command: its module and its help, so ``crm --help`` lists them without importing them.

Generated from the commands themselves by ``python -m crmcli.cli.lazy`` (cli/lazy.py); do not edit.
tests/test_startup.py fails when it differs from what the commands say.
"""

# name -> (module under crmcli.cli, help), in the order typer registers them
COMMANDS: dict[str, tuple[str, str]] = {
    'add': ('customers', 'Add a customer (prints its code).\n\nName and phone are required (or --no-phone); on a terminal you are asked for what is missing.\n\nExample: crm add "ABC科技有限公司" --phone 13812345678 --contact 张伟 --level key'),
    'edit': ('customers', "Change a customer's fields.\n\nExample: crm edit C202405001 --level key --add-tag 高预算"),
    'archive': ('customers', 'Hide a customer from lists and reports (nothing is deleted).'),
    'unarchive': ('customers', 'Bring an archived customer back into lists and reports.'),
    'list': ('customer_views', 'List customers, or with --due the ones to follow up today.\n\nWith --due the other filters narrow the due list (e.g. --due --level key).\n\nExamples: crm list --stage intent --sort -created --limit 20;\ncrm list --due --mine --format csv'),
    'show': ('customer_views', 'Show a customer card and its timeline of follow-ups, stage changes and deals.\n\nExample: crm show ABC --format json'),
    'follow': ('activity', 'Record a follow-up with a customer; or correct (edit) or delete one by its number.\n\nExamples: crm follow ABC --method phone --content "客户要报价" --next-date +3d --next-plan 发报价;\ncrm follow edit 12 --date 2026-11-20;  crm follow delete 12'),
    'stage': ('activity', 'Move a customer to another stage; won --amount records a deal; lost --reason on a lost customer corrects the reason.\n\nA deal of the same amount on the same customer and day within 10 minutes, or more than 100×\nthe largest so far, is asked about on a terminal and needs --yes from a script.\n\nExamples: crm stage ABC won --amount 5万;  crm stage ABC lost --reason 预算取消'),
    'import': ('imports', 'Import customers and follow-ups, or opportunities, from Excel or CSV (one batch, undoable).\n\nAn export of crm (a workbook, its JSON document or a directory of CSV files) imports every\ntable it holds: customers, follow-ups, stage changes, opportunities, tickets, custom fields.\nA file whose header has opportunity columns (机会编号, Opportunity_ID, Opportunity_Name,\ndeal_stage, ...) is imported as opportunities; --table deals says so for any file.\n\nExamples: crm import 客户信息总表.xlsx;  crm import leads.csv --on-duplicate update --dry-run;\ncrm import pipeline.csv --map-value stage:Engaging=intent --date-order mdy;  crm import --undo 3'),
    'imports': ('imports', 'List import batches: file, time, counts, and whether each was undone.'),
    'export': ('exporting', 'Export customers and their records to xlsx, csv or json (the same filters as list).\n\nxlsx and json hold every table (customers, follow-ups, stage changes, opportunities, tickets,\ncustom fields) and import back; DIR/ writes one CSV file per table; a .csv file holds the\ncustomers; - writes csv (or --format json) to stdout.\n\nExamples: crm export 客户.xlsx --stage intent; crm export 备份/; crm export - --mine | head;\ncrm export 导入模板.xlsx --template'),
    'report': ('reports', 'Show a report: funnel, sources, owners, industries, abc, lost, trend, forecast, alerts, pipeline, products or service.\n\nExamples: crm report sources --since 2026-01-01;\ncrm report trend --xlsx trend.xlsx;  crm report alerts --mine --format csv;  crm report service --by handler'),
    'backup': ('safety', "Copy the database safely, even while it is in use, and print the copy's path.\n\nThe default is <db dir>/backups/crm-YYYYMMDD-HHMMSS.db (directory 0700, file 0600).\nThe copy is made with SQLite's online backup API and checked with integrity_check.\n\nExample: crm backup /mnt/usb/"),
    'restore': ('safety', 'Replace the database with a backup, keeping a copy of the one it replaces.\n\nThe file is checked first (SQLite header, integrity_check, foreign keys, a schema revision\nthis program knows); a damaged or foreign file is refused and nothing changes.\n\nExample: crm restore ~/.local/share/crmcli/backups/crm-20260101-090000.db'),
    'check': ('safety', 'Check the database file: integrity, foreign keys, schema revision, record counts.\n\nExits 1 when a check fails. Example: crm check --format json'),
    'init': ('safety', 'Create the database, or say where it is (commands that only read need it to exist).\n\nExample: crm --db ~/crm/team.db init'),
    'history': ('history', 'Show what was changed, by whom and with which command, newest first.\n\nEvery command that writes is one change set; crm undo CHANGE takes one back.\n\nExamples: crm history;  crm history ABC --format json;  crm history --by wang --since 2026-11-01'),
    'undo': ('history', 'Take back a change set (as a new change set, which can be undone in turn).\n\nRefuses, naming the later change, when a later change touched the same fields (--force to\nundo anyway). An import is undone as crm import --undo BATCH does.\n\nExamples: crm undo;  crm undo 42 --dry-run;  crm undo 42 --force'),
    'dupes': ('dupes', 'List pairs of customers that are probably the same, best first, with a score and reasons.\n\nExamples: crm dupes;  crm dupes --min-score 0.95 --format json'),
    'merge': ('dupes', "Merge customer OTHER into KEEP (prints the merge id); --undo MERGE_ID takes a merge back.\n\nEvery follow-up, stage change, deal, ticket and tag of OTHER moves to KEEP, KEEP's empty\nfields are filled from OTHER, and OTHER's code and phone then find KEEP.\n\nExamples: crm merge C202405001 C202405007;  crm merge --undo 3"),
    'merges': ('dupes', 'List merges, newest first (id, kept, merged, when, by whom, undone).'),
    'calendar': ('calendar', "Write each customer's next follow-up within DAYS as an all-day calendar event (.ics).\n\nOverdue follow-ups appear on today. Each event keeps its UID across runs, so a calendar that\nsubscribes to the file updates events instead of duplicating them.\n\nExamples: crm calendar --mine --ics ~/Sync/crm.ics;  crm calendar --within 7 --ics -"),
    'deal': ('deals', 'Opportunities (销售机会): add, list, show, edit, stage, delete.'),
    'product': ('deals', 'Products (产品): add, list.'),
    'field': ('fields', 'Custom fields: add, list, remove (values are set with add/edit --set KEY=VALUE).'),
    'ticket': ('tickets', 'Service tickets (客户服务): add, update, list.'),
    'team': ('team', 'Team mode on PostgreSQL: set up, users, settings.'),
    'pool': ('team', 'The customer pool (公海池): list, claim, release, assign, sweep.'),
    'db': ('team', 'Move a database file into team mode.'),
}
