//! Polysemanticity and interference metrics (issue #5): feature capacity, neuron cosine
//! similarity, clause collisions and coverage with their closed-form predictions, activation
//! polysemanticity, participation-ratio dimension and the fold-change regression. It takes plain
//! ndarray arrays, never a model or a dataset.
