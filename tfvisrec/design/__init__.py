"""DVBPR's design half (Kang et al. 2017, §III-D): items generated for one shopper.

- `retrieval.retrieve`: the baseline δ(u, c), the best existing item of a category (eq. 8);
- `preference.PreferenceMaximiser`: δ̂(u, c), the GAN's image a trained DVBPR scores highest,
  kept realistic by the discriminator (eq. 9-10), top-k or sampled for diversity (eq. 11);
- `tailoring.tailor`: an existing item moved towards the shopper's taste (eq. 12);
- `python -m tfvisrec.design`: the PNG sheets (`__main__.py`).
"""
