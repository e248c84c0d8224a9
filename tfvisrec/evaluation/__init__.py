"""Evaluation: catalogue scoring, the named protocols of the papers, result tables.

    from tfvisrec.evaluation import protocols
    protocols.evaluate(model, dataset, protocols=("full_auc", "sampled_100"))
"""
