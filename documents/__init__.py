"""Files people download or file: plain models in, bytes out.

Workbooks, charts and the targets template. Nothing here touches the database
or a transaction; labels come from the catalog through a translator.
"""
