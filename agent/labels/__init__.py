"""Labels: the asset-tag labels the barcode scanner reads, and a finished laptop's label.

One drawing (:mod:`agent.labels.draw`) serves every output: A4 label sheets as PDF
(:mod:`agent.labels.sheet`), PNG files, and Brother QL raster (:mod:`agent.labels.brother`).
"""
