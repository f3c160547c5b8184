//! The "Deviations and choices" section: every decision the paper leaves open (SPEC [choice]),
//! with the default every run uses. Each one is a config option; the wording follows the doc
//! comments of the crates that implement it.

/// The data substitution, stated at the top of REPORT.md and beside every embedding result.
pub(crate) const SUBSTITUTION: &str = "no CLIP weights or CIFAR images can be obtained here, so two real frozen-encoder embedding sets stand in for the paper's CLIP embeddings of CIFAR-100: all-MiniLM-L6-v2 sentence embeddings of WordNet 3.0 synsets in 40 supersense classes (text, not images; hard: accuracy keeps rising with width up to h ≈ 32; the E8, E8b, E9 and E10b claims are judged on it) and EfficientNet-Lite0 (ImageNet) embeddings of Fashion-MNIST images (10 classes; easy: saturates near 89 % from h ≈ 8; run beside E8). Neither is CLIP";

/// Markdown list of the deviations and choices.
pub(crate) const CHOICES_MD: &str = "\
**Deviation (data).** The paper's embedding experiments use CLIP image embeddings of CIFAR-100 (100 classes). \
No CLIP weights or CIFAR images can be obtained here, so E8, E8b, E9 and the embedding part of E10 run on \
all-MiniLM-L6-v2 sentence embeddings of WordNet 3.0 synsets, 40 supersense classes (384-d, L2-normalised, used as \
stored; text, not images), where a one-hidden-layer MLP gains about 13 points from h = 8 to h = 32 as on CIFAR-100. \
E8 also runs beside it on EfficientNet-Lite0 (ImageNet-pretrained) embeddings of Fashion-MNIST (10 classes, PCA \
to 256 dimensions, standardised), which saturates near 89 % from h ≈ 8, so that a saturated set showing nothing is \
itself visible. See `data/README.md`. Absolute accuracies, and the ceiling on any ratio to dense, differ from the \
paper's for that reason; point the loader at a CLIP HDF5 file with the same layout to run the original setting.

**Choices** (the paper is silent; each is a config option with this default, logged in every run's `config.toml`):

- **Initialisation**: PyTorch's default, `W, b ~ U(−1/√fan_in, 1/√fan_in)`.
- **Boolean task defaults**: n = max(64, m·k) variables, m = 8 read-once clauses of k = 3 literals, each literal \
negated with probability ½, 4096 train and 4096 test samples, `raw` encoding, one OR output.
- **Balanced sampler** (default): exactly half positives — a clause chosen uniformly has its literals set true, \
every other bit Bernoulli(½) — and half negatives drawn exactly in O(n): each clause's k variables take one of its \
2^k − 1 falsifying assignments uniformly, free variables Bernoulli(½); then shuffled. One seed drives separate \
streams for formula, data, initialisation, batches and plans.
- **Optimiser**: Adam, lr 1e-3, β = (0.9, 0.999), ε = 1e-8, batch 256, reshuffled every epoch from the seed, no \
weight decay. Mask-aware: the gradient, both moments and any weight decay of an inactive weight are zero and stay \
zero, so a pruned weight can never revive.
- **Weight decay** (off by default; also for momentum SGD): decoupled (AdamW style, `w ← w − lr·λ·w` before the \
gradient step), on weights only, never on biases.
- **Losses**: BCE-with-logits averaged over samples × output bits (PyTorch's default) for Boolean tasks; softmax \
cross-entropy averaged over samples for classes. A sample is predicted 1 iff its logit > 0.
- **Shared warm-up**: every arm of a seed branches from one warm-up run; the dense arm continues for the remaining \
epochs.
- **Optimiser state at the split**: reset to zero moments (option `carry` splits the moments like the weights).
- **Bias of the children**: each child copies the parent's bias (option `split`: b/α). Outgoing weights are copied \
without rescaling, as in the paper (option `scale`).
- **Pruning back to the budget**: global — the smallest |w| over the incoming and outgoing weights of the expanded \
layers — with ties broken by |w|, then layer index, then row-major position, so the result is deterministic and \
nnz equals the budget exactly (option `out_only`).
- **`clause` strategy**: per parent, clauses in random order, clause r → child r mod α with all its literals; the \
remaining (non-literal) inputs are shuffled and each goes to the currently smallest child, which balances child \
sizes and reduces to `random` without clauses. `clause_by_weight`: the α heaviest clauses (Σ|w| over their \
literals) get one child each.
- **`feature` strategy**: balanced k-means of the inputs on the L2-normalised rows of G = W_inᵀ W_in; centroids \
seeded with k-means++ from the run's RNG; Lloyd iterations (at most 25) with a balanced assignment by regret \
(capacities ⌈d/α⌉ / ⌊d/α⌋); group g → child g for every parent (an empty child takes one input from the largest).
- **`contiguous` strategy**: the parent's active inputs in index order cut into α blocks whose sizes differ by at \
most one (a cheap, structure-blind baseline).
- **`nm` strategy**: M = 4, N = M/α per child along the input axis.
- **`dropconnect` control**: width h, dense; at every step each active weight of the expanded layer is kept with \
probability 1/α and scaled by α (inverted DropConnect, one mask per step shared by the batch, its own RNG stream); \
full weights at test time.
- **`wide_sparse_scratch` baseline**: width αh from initialisation, no warm-up, a random balanced mask with as many \
active weights per layer as the narrow dense layer (row counts differ by at most one) — the \"wider at equal \
parameters\" baseline of Golubeva et al. (ICLR 2021).
- **Dynamic sparsity** (`set`, `rigl` arms): `random` expansion, then every ΔT = 100 steps drop the fraction ζ_t of \
active weights with the smallest |w| and regrow as many (SET: uniformly at random; RigL: largest dense-gradient \
magnitude on the current batch, ties by index); ζ = 0.3 cosine-decayed to 0 over the post-split training; regrown \
weights start at 0 with zero optimiser state; weights dropped in an update are not regrown in the same update; \
nnz never changes; `keep_disjoint` off.
- **Activation polysemanticity**: τ = 0.5; for clause c, S_c = test inputs where c and no other clause holds; a \
neuron responds to c if its mean activation on S_c is positive and at least τ times its largest such mean; \
reported as the mean number of clauses per responsive neuron.
- **E5 measurement**: per (k, α), two fixed literal-disjoint clauses (inputs 0..k and k..2k) in every parent of \
dense layers planned with `random`; a collision is all 2k inputs in one child; z uses the standard error of the \
balanced prediction.
- **Report**: gains are relative, acc(FPE) / acc(dense) − 1 from means over seeds; std is the sample std (n − 1) \
over seeds; failed (diverged) runs are listed and left out of the means.
";
