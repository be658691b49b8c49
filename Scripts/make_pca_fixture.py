#!/usr/bin/env python3
"""Reference principal components for the Swift PCA test, computed independently with numpy's SVD.

Run once (any Python with numpy):  python3 Scripts/make_pca_fixture.py
Writes Tests/GPTVisualizationTests/Fixtures/pca.json: a seeded 40 x 6 data set with distinct
variances per direction, its first three principal axes (unit vectors, sign arbitrary), the
variance along each, and the points projected onto them.
"""
import json
import os

import numpy as np

rng = np.random.default_rng(2024)
basis, _ = np.linalg.qr(rng.normal(size=(6, 6)))
scales = np.array([5.0, 3.0, 1.5, 0.5, 0.2, 0.1])
data = (rng.normal(size=(40, 6)) * scales) @ basis.T + rng.normal(size=6)
data = data.round(6)
centred = data - data.mean(axis=0)
_, singular, vt = np.linalg.svd(centred, full_matrices=False)
axes = vt[:3]
out = {
    "data": data.tolist(),
    "axes": axes.tolist(),
    "variances": (singular[:3] ** 2 / len(data)).tolist(),
    "projections": (centred @ axes.T).tolist(),
}
path = os.path.join(os.path.dirname(__file__), "..", "Tests", "GPTVisualizationTests", "Fixtures", "pca.json")
with open(path, "w") as f:
    json.dump(out, f, indent=1)
print("wrote", os.path.normpath(path))
