/* ft_config_schema: every experiment key fedtail understands, in one table.
 *
 * Sections: [federation] [data] [model] [train] [attack] [defense] [run] [security].
 * Key names follow the paper's code (Wang et al. 2020, "Attack of the Tails") where
 * it has one: eps, norm_bound, stddev, project_frequency, model_replacement, fl_mode,
 * attacker_pool_size. docs/configuration.md is generated from this table
 * (`fedtail keys --markdown`). Each value's range, and every check that involves
 * several keys, lives in ft_experiment.c, which reads the config into one typed struct
 * per section. ("Keys" here are experiment keys; CURVE keys are proto/'s.) */
#include "ft_config.h"

#include <stddef.h>

const ft_config_key_t ft_config_schema[] = {
    /* [federation] */
    {"federation.num_clients", FT_KEY_INT, "100", NULL, "clients in the population"},
    {"federation.clients_per_round", FT_KEY_INT, "10", NULL, "clients sampled per round (K)"},
    {"federation.rounds", FT_KEY_INT, "30", NULL, "federated rounds"},
    {"federation.local_epochs", FT_KEY_INT, "2", NULL, "local epochs per honest client"},
    {"federation.batch_size", FT_KEY_INT, "32", NULL, "local minibatch size"},
    {"federation.lr", FT_KEY_FLOAT, "0.01", NULL, "local learning rate in round 1"},
    {"federation.lr_decay", FT_KEY_FLOAT, "1.0", NULL, "lr in round t is lr * lr_decay^(t-1)"},
    {"federation.momentum", FT_KEY_FLOAT, "0.9", NULL, "local SGD momentum"},
    {"federation.weight_decay", FT_KEY_FLOAT, "0", NULL, "local SGD weight decay (L2)"},
    {"federation.clip_grad_norm", FT_KEY_FLOAT, "0", NULL,
     "every client's local training (honest and attacker): before each step, scale the "
     "gradient by max / (norm + 1e-6) when that is below 1, as torch.nn.utils.clip_grad_norm_ "
     "(the paper code's Sentiment140 clients: 5); 0: off"},
    {"federation.partition", FT_KEY_ENUM, "iid", "iid|dirichlet|shards|natural",
     "how the training set is split among clients (natural: by class, i.e. by source file for "
     "fortunes, by author for sentiment140 and reddit)"},
    {"federation.alpha", FT_KEY_FLOAT, "0.5", NULL,
     "Dirichlet concentration (partition=dirichlet)"},
    {"federation.min_size", FT_KEY_INT, "10", NULL,
     "Dirichlet: redraw until every client has at least this many samples"},
    {"federation.shards_per_client", FT_KEY_INT, "2", NULL,
     "classes per client (partition=shards)"},
    {"federation.eval_every", FT_KEY_INT, "1", NULL, "evaluate the global model every n rounds"},
    {"federation.init", FT_KEY_STRING, "random", NULL,
     "initial global model: 'random', 'pretrain' (centralised [train] first, cached in "
     "run.cache_dir) or a checkpoint written by fedtail train"},
    {"federation.round_timeout", FT_KEY_FLOAT, "120", NULL,
     "seconds after which a round closes with the updates it has"},
    {"federation.min_clients", FT_KEY_INT, "1", NULL,
     "fewest updates a round may close with; fewer means the round is retried"},
    {"federation.max_round_retries", FT_KEY_INT, "3", NULL,
     "retries of a round that closed with too few updates before the run fails"},
    {"federation.heartbeat_s", FT_KEY_FLOAT, "2", NULL,
     "client heartbeat period; a process silent for 5 periods is presumed dead"},
    {"federation.max_peers", FT_KEY_INT, "256", NULL,
     "most connections and live client processes the coordinator admits at once (fewer if "
     "the open-file limit is lower; docs/security.md)"},

    /* [data] */
    {"data.dataset", FT_KEY_ENUM, "fashion-mnist",
     "fashion-mnist|mnist|emnist|cifar10|synthetic|fortunes|sentiment140|reddit",
     "dataset (fortunes: next-word prediction on /usr/share/games/fortunes; sentiment140: "
     "tweets, data.path = the directory of the Sentiment140 CSV files; reddit: next-word "
     "prediction, data.path = a JSON-lines file of comments with \"author\" and \"body\", "
     "clients by author)"},
    {"data.vocab_size", FT_KEY_INT, "5000", NULL,
     "text: vocabulary size, <unk> and <eos> included (most frequent training tokens)"},
    {"data.seq_len", FT_KEY_INT, "32", NULL,
     "text: tokens per sequence (T; sentiment140: a tweet's first T tokens, left-padded)"},
    {"data.text_test_fraction", FT_KEY_FLOAT, "0.1", NULL,
     "text: share of entries held out as the test split (seeded by run.seed)"},
    {"data.fraction_of_train", FT_KEY_FLOAT, "1", NULL,
     "sentiment140: each training tweet is kept with this probability (seeded by run.seed), "
     "the paper code's random sample of the file (fractionOfTrain: 0.25)"},
    {"data.path", FT_KEY_STRING, "", NULL,
     "dataset directory (default for fashion-mnist: /usr/share/datasets/fashion-mnist)"},
    {"data.mean", FT_KEY_STRING, "", NULL,
     "per-channel normalisation mean, comma-separated (default per dataset)"},
    {"data.std", FT_KEY_STRING, "", NULL,
     "per-channel normalisation std, comma-separated (default per dataset)"},
    {"data.emnist_transpose", FT_KEY_BOOL, "true", NULL,
     "emnist: transpose the IDX images to upright (false: as stored, as the paper code reads "
     "them)"},
    {"data.train_limit", FT_KEY_INT, "0", NULL, "use only the first n training samples (0: all)"},
    {"data.test_limit", FT_KEY_INT, "0", NULL, "use only the first n test samples (0: all)"},
    {"data.synthetic_train", FT_KEY_INT, "2000", NULL, "synthetic dataset: training samples"},
    {"data.synthetic_test", FT_KEY_INT, "500", NULL, "synthetic dataset: test samples"},
    {"data.synthetic_shape", FT_KEY_STRING, "1,28,28", NULL, "synthetic dataset: C,H,W"},
    {"data.augment", FT_KEY_ENUM, "none", "none|crop-flip-reflect|crop-flip-zero",
     "honest clients' training augmentation: pad by augment_pad (reflected or zero), random "
     "crop, random horizontal flip (the paper code's CIFAR-10 clients: crop-flip-reflect)"},
    {"data.augment_attack", FT_KEY_ENUM, "same", "same|none|crop-flip-reflect|crop-flip-zero",
     "the attacker's training on its own data (same: as data.augment; the paper code's "
     "CIFAR-10 attacker: crop-flip-zero)"},
    {"data.augment_train", FT_KEY_ENUM, "same", "same|none|crop-flip-reflect|crop-flip-zero",
     "centralised pre-training (same: as data.augment; the paper code's CIFAR-10 "
     "checkpoint: crop-flip-zero)"},
    {"data.augment_pad", FT_KEY_INT, "4", NULL,
     "pixels of padding on each side before the random crop (reflect: below the image size)"},

    /* [model] */
    {"model.name", FT_KEY_ENUM, "lenet5", "lenet5|paper-lenet|vgg9|mlp|lstm|lstm-sentiment",
     "model architecture (lstm: next-word on fortunes or reddit; lstm-sentiment: the paper's "
     "Sentiment140 classifier, one sigmoid logit on the last step)"},
    {"model.hidden", FT_KEY_STRING, "200,200", NULL,
     "mlp: hidden layer sizes, comma-separated; lstm: one size H for every layer"},
    {"model.embedding", FT_KEY_INT, "200", NULL, "lstm: embedding size E"},
    {"model.layers", FT_KEY_INT, "2", NULL, "lstm: stacked LSTM layers"},
    {"model.dropout", FT_KEY_FLOAT, "0.2", NULL,
     "lstm: dropout on the embedding, between layers and on the output (lstm-sentiment: between "
     "layers and before the output layer)"},
    {"model.tied", FT_KEY_BOOL, "false", NULL, "lstm: the decoder shares the embedding (E = H)"},

    /* [train] centralised training (fedtail train) */
    {"train.epochs", FT_KEY_INT, "2", NULL, "epochs"},
    {"train.batch_size", FT_KEY_INT, "32", NULL, "minibatch size"},
    {"train.lr", FT_KEY_FLOAT, "0.01", NULL, "learning rate"},
    {"train.momentum", FT_KEY_FLOAT, "0.9", NULL, "SGD momentum"},
    {"train.weight_decay", FT_KEY_FLOAT, "0", NULL, "SGD weight decay (L2)"},
    {"train.clip_grad_norm", FT_KEY_FLOAT, "0", NULL,
     "total-norm gradient clipping before each step, as federation.clip_grad_norm; 0: off"},

    /* [attack] */
    {"attack.method", FT_KEY_STRING, "none", NULL, "the attack the attacker clients run"},
    {"attack.attack_case", FT_KEY_ENUM, "edge-case", "edge-case|almost-edge-case|normal-case",
     "the paper's edge-case vs non-edge baselines"},
    {"attack.edge_source", FT_KEY_ENUM, "mined", "mined|file", "where edge-case points come from"},
    {"attack.edge_file", FT_KEY_STRING, "", NULL, "edge_source=file: .npy image array"},
    {"attack.edge_size", FT_KEY_INT, "100", NULL, "mined edge-case set: minimum cluster size"},
    {"attack.edge_test_fraction", FT_KEY_FLOAT, "0.3", NULL,
     "share of the edge-case set held out as the backdoor test set"},
    {"attack.edge_test_file", FT_KEY_STRING, "", NULL,
     "edge_source=file: a separate .npy backdoor test set (the paper code's Southwest / ARDIS "
     "test files); empty: split edge_file by edge_test_fraction"},
    {"attack.edge_copies", FT_KEY_INT, "1", NULL,
     "edge_source=file: consecutive images that are copies of one original (augmentations; "
     "4 in the paper's Southwest file), kept on one side of the split"},
    {"attack.edge_points", FT_KEY_INT, "0", NULL,
     "edge points sampled into D_adv each run (0: all of the attacker's share; the paper code: "
     "100 Southwest, 66 ARDIS)"},
    {"attack.source_class", FT_KEY_INT, "0", NULL, "class the edge-case points are mined from"},
    {"attack.target_class", FT_KEY_INT, "1", NULL, "label the attacker gives them"},
    {"attack.clean_points", FT_KEY_INT, "100", NULL, "clean points mixed into D_adv"},
    {"attack.clean_from", FT_KEY_ENUM, "partition", "partition|train",
     "where the clean points come from: the attacker's own partition, or the whole training "
     "set but the edge points (the paper code)"},
    {"attack.honest_edge_holders", FT_KEY_INT, "10", NULL,
     "almost-edge/normal-case: honest clients (lowest ids) holding true-label copies"},
    {"attack.holder_pool", FT_KEY_ENUM, "copies", "copies|disjoint",
     "almost-edge/normal-case: holders get copies of the attacker's points, or a disjoint pool "
     "of the same source (the edge points not sampled into D_adv: the paper code), split among "
     "almost-edge holders, whole to each normal-case holder"},
    {"attack.eps", FT_KEY_STRING, "2", NULL,
     "PGD: radius of the L2 ball around the global model, or auto: defense.norm_bound / the "
     "replacement factor (M n_adv / N_round), so the scaled update lands just under the bound"},
    {"attack.adaptive_eps", FT_KEY_ENUM, "auto", "auto|on|off",
     "PGD: shrink eps with the lr, eps * lr_decay^(t-1) (auto: under krum and multi-krum, as "
     "the paper code)"},
    {"attack.project_frequency", FT_KEY_INT, "10", NULL, "PGD: project every n batches"},
    {"attack.adv_lr", FT_KEY_FLOAT, "0", NULL, "attacker learning rate (0: federation.lr)"},
    {"attack.adv_epochs", FT_KEY_INT, "0", NULL,
     "attacker local epochs (0: federation.local_epochs)"},
    {"attack.model_replacement", FT_KEY_BOOL, "false", NULL,
     "scale the update (model replacement)"},
    {"attack.scale", FT_KEY_FLOAT, "0", NULL,
     "model replacement factor (0: total round samples / attacker samples)"},
    {"attack.prox", FT_KEY_BOOL, "false", NULL, "the paper's prox variant of the attack"},
    {"attack.prox_mu", FT_KEY_FLOAT, "1", NULL, "prox variant: weight of the proximal term"},
    {"attack.fl_mode", FT_KEY_ENUM, "fixed-freq", "fixed-freq|fixed-pool|every-round",
     "attack schedule"},
    {"attack.attack_freq", FT_KEY_INT, "10", NULL, "fixed-freq: attack every n rounds"},
    {"attack.attack_from", FT_KEY_INT, "1", NULL, "first round that may be attacked"},
    {"attack.attack_until", FT_KEY_INT, "0", NULL, "last round that may be attacked (0: last)"},
    {"attack.attacker_pool_size", FT_KEY_INT, "1", NULL, "fixed-pool: attacker ids among all"},
    {"attack.trigger_size", FT_KEY_INT, "4", NULL, "pixel-trigger: square side in pixels"},
    {"attack.trigger_phrase", FT_KEY_STRING, "windows is", NULL,
     "phrase: the trigger words (tokenised like the corpus)"},
    {"attack.target_word", FT_KEY_STRING, "perfect", NULL,
     "phrase: the word the attacker wants after the trigger"},
    {"attack.noise_std", FT_KEY_FLOAT, "1", NULL, "gaussian: std of the noise update"},
    {"attack.alie_z", FT_KEY_FLOAT, "0", NULL, "alie: z (0: from Baruch et al.'s formula)"},
    {"attack.ipm_epsilon", FT_KEY_FLOAT, "0.5", NULL, "ipm: epsilon of Xie et al."},
    {"attack.num_benign_estimates", FT_KEY_INT, "5", NULL,
     "alie/ipm: benign updates the attacker simulates on its own data"},
    {"attack.edge_clusters", FT_KEY_INT, "0", NULL,
     "mined edge-case set: k-means clusters of the source class (0: auto)"},
    {"attack.edge_components", FT_KEY_INT, "16", NULL,
     "mined edge-case set: principal components the class is clustered in"},
    {"attack.edge_miner", FT_KEY_ENUM, "kmeans", "kmeans|density",
     "mined edge-case set: smallest k-means cluster of the class in PCA space, or the class's "
     "lowest-density points under the whole training set in the pre-trained model's features"},
    {"attack.edge_scores", FT_KEY_STRING, "", NULL,
     "edge_miner=density: .npy of each training sample's log density (empty: fedtail run "
     "computes it from a model pre-trained on the whole training set, kept in run.cache_dir; "
     "kmeans ignores it)"},
    {"attack.poison_points", FT_KEY_INT, "100", NULL,
     "pixel-trigger: triggered, relabelled copies in D_adv"},
    /* attacks v2 (issue 18) */
    {"attack.grad_mask", FT_KEY_BOOL, "false", NULL,
     "Neurotoxin's gradient mask on top of any training attack (always on for neurotoxin)"},
    {"attack.neurotoxin_ratio", FT_KEY_FLOAT, "0.95", NULL,
     "neurotoxin: share of coordinates the attacker trains, those smallest in its benign gradient"},
    {"attack.trigger_shape", FT_KEY_ENUM, "checkerboard",
     "checkerboard|square|pattern|pixel|blended", "pixel-trigger: trigger stamped on the images"},
    {"attack.trigger_row", FT_KEY_INT, "-1", NULL,
     "pixel-trigger: top row of the trigger (-1: the shape's default corner)"},
    {"attack.trigger_col", FT_KEY_INT, "-1", NULL,
     "pixel-trigger: left column of the trigger (-1: the shape's default corner)"},
    {"attack.blend_alpha", FT_KEY_FLOAT, "0.2", NULL, "blended trigger: weight of the key image"},
    {"attack.dba_parts", FT_KEY_INT, "4", NULL,
     "dba: local patterns the global trigger is cut into"},
    {"attack.perturbation", FT_KEY_ENUM, "unit-vec", "unit-vec|std|sign",
     "minmax/minsum: perturbation direction"},
    {"attack.fang_rule", FT_KEY_ENUM, "trmean", "trmean|krum",
     "fang: the rule the attack is tailored to"},
    {"attack.a3fl_iterations", FT_KEY_INT, "200", NULL,
     "a3fl: trigger search passes over the attacker's data per attack round"},
    {"attack.a3fl_adv_epochs", FT_KEY_INT, "5", NULL,
     "a3fl: epochs of the copy of the global model that unlearns the trigger (0: none)"},
    {"attack.a3fl_trigger_lr", FT_KEY_FLOAT, "0.01", NULL,
     "a3fl: sign-gradient step of the trigger, in normalised pixel units"},
    {"attack.a3fl_lambda", FT_KEY_FLOAT, "0.01", NULL,
     "a3fl: weight of the unlearning model's loss in the trigger's objective"},
    {"attack.chameleon_epochs", FT_KEY_INT, "10", NULL,
     "chameleon: epochs of the contrastive stage that trains the encoder (0: none)"},
    {"attack.chameleon_lr", FT_KEY_FLOAT, "0.05", NULL,
     "chameleon: the contrastive stage's learning rate (x0.005 at epochs 3, 5, 7, 9)"},
    {"attack.chameleon_temperature", FT_KEY_FLOAT, "0.07", NULL,
     "chameleon: temperature of the supervised contrastive loss"},
    {"attack.chameleon_scale", FT_KEY_FLOAT, "6", NULL,
     "chameleon: weight of the target class's anchors in the contrastive loss"},
    {"attack.chameleon_norm", FT_KEY_FLOAT, "5", NULL,
     "chameleon: radius of the ball around the global model each step projects onto (0: none)"},
    {"attack.iba_eps", FT_KEY_FLOAT, "0.06", NULL,
     "iba: bound of the generator's perturbation per pixel, in pixel units ([0, 1] range)"},
    {"attack.iba_lr", FT_KEY_FLOAT, "0.01", NULL, "iba: Adam learning rate of the generator"},
    {"attack.iba_epochs", FT_KEY_INT, "100", NULL,
     "iba: most generator epochs per attack round (stops once 70% of its images hit the target)"},
    {"attack.iba_hidden", FT_KEY_INT, "64", NULL, "iba: hidden units of the generator"},

    /* [defense] */
    {"defense.name", FT_KEY_STRING, "fedavg", NULL, "the server's aggregation rule"},
    {"defense.plugin", FT_KEY_STRING, "", NULL,
     "a defense plug-in's .so (docs/write-a-defense.md); sets defense.name = plugin"},
    {"defense.norm_bound", FT_KEY_FLOAT, "2", NULL,
     "norm-clipping/weak-dp: L2 bound M; crfl: model norm bound rho; local-dp: clients' bound"},
    {"defense.stddev", FT_KEY_FLOAT, "0.025", NULL, "weak-dp/crfl/local-dp: noise std"},
    {"defense.f", FT_KEY_INT, "1", NULL, "krum/multi-krum/bulyan: assumed attackers per round"},
    {"defense.m", FT_KEY_INT, "0", NULL, "multi-krum: updates kept (0: K - f)"},
    {"defense.beta", FT_KEY_FLOAT, "0.1", NULL, "trimmed-mean: share trimmed each side"},
    {"defense.maxiter", FT_KEY_INT, "500", NULL, "rfa: Weiszfeld iterations"},
    {"defense.nu", FT_KEY_FLOAT, "1e-5", NULL, "rfa: smoothing"},
    {"defense.ftol", FT_KEY_FLOAT, "1e-7", NULL, "rfa: relative objective tolerance"},
    {"defense.tau", FT_KEY_FLOAT, "10", NULL, "centered-clipping: clipping radius"},
    {"defense.cc_iters", FT_KEY_INT, "1", NULL, "centered-clipping: iterations"},
    {"defense.root_size", FT_KEY_INT, "100", NULL, "fltrust: root dataset samples"},
    {"defense.fg_confidence", FT_KEY_FLOAT, "1", NULL, "foolsgold: kappa of the logit"},
    /* Defenses v2 (issue 17) */
    {"defense.theta", FT_KEY_INT, "4", NULL, "rlr: sign-agreement threshold (votes of K)"},
    {"defense.inner", FT_KEY_STRING, "median", NULL, "bucketing: the rule run on the bucket means"},
    {"defense.bucket_size", FT_KEY_INT, "2", NULL, "bucketing: updates averaged per bucket (s)"},
    {"defense.dnc_iters", FT_KEY_INT, "5", NULL, "dnc: subsampling iterations"},
    {"defense.dnc_b", FT_KEY_INT, "10000", NULL, "dnc: coordinates per subsample (b, <= N)"},
    {"defense.dnc_c", FT_KEY_FLOAT, "1", NULL, "dnc: filtering fraction c (drops c*f)"},
    {"defense.sg_lower", FT_KEY_FLOAT, "0.1", NULL, "signguard: norm filter lower bound L"},
    {"defense.sg_upper", FT_KEY_FLOAT, "3", NULL, "signguard: norm filter upper bound R"},
    {"defense.sg_fraction", FT_KEY_FLOAT, "0.1", NULL, "signguard: share of coordinates signed"},
    {"defense.flame_lambda", FT_KEY_FLOAT, "0.001", NULL, "flame: noise level lambda"},
    {"defense.rflbat_eps1", FT_KEY_FLOAT, "10", NULL,
     "rflbat: stage-1 outlier threshold (x median)"},
    {"defense.rflbat_eps2", FT_KEY_FLOAT, "4", NULL,
     "rflbat: stage-2 outlier threshold (x median)"},
    {"defense.fld_window", FT_KEY_INT, "10", NULL, "fldetector: window N_w (rounds)"},
    {"defense.fld_start", FT_KEY_INT, "50", NULL, "fldetector: rounds before scoring starts"},
    {"defense.lasa_sparsity", FT_KEY_FLOAT, "0.3", NULL,
     "lasa: share of weight coordinates zeroed before filtering"},
    {"defense.lasa_norm_z", FT_KEY_FLOAT, "2", NULL, "lasa: layer norm median z-score bound"},
    {"defense.lasa_sign_z", FT_KEY_FLOAT, "1", NULL, "lasa: layer sign median z-score bound"},
    {"defense.ds_tau", FT_KEY_FLOAT, "0.33", NULL,
     "deepsight: a cluster is accepted below this share of suspicious members"},
    {"defense.ds_seeds", FT_KEY_INT, "3", NULL, "deepsight: noise sets (DDifs per client)"},
    {"defense.ds_samples", FT_KEY_INT, "64", NULL, "deepsight: noise inputs per set"},
    {"defense.flare_k", FT_KEY_FLOAT, "0.5", NULL,
     "flare: nearest neighbours each client counts, as a share of K (rounded)"},
    {"defense.flare_sigma", FT_KEY_FLOAT, "0", NULL,
     "flare: Gaussian kernel width (0: the median distance of the global model's representations)"},
    {"defense.flare_samples", FT_KEY_INT, "32", NULL,
     "flare: server samples whose representations are compared (<= defense.root_size)"},

    /* [run] */
    {"run.seed", FT_KEY_INT, "1", NULL, "seed of every random stream"},
    {"run.seeds", FT_KEY_STRING, "", NULL,
     "run every variant / grid cell once per seed, e.g. '1,2,3' (into seed-S/); summaries "
     "show mean ± sample std (empty: one run with run.seed)"},
    {"run.threads", FT_KEY_INT, "1", NULL, "BLAS threads per process"},
    {"run.device", FT_KEY_STRING, "cpu", NULL, "cpu or cuda[:N]"},
    {"run.batch_clients", FT_KEY_INT, "1", NULL,
     "tasks of a round a client process trains at once (K models in lock step; 1: one by one; "
     "0: as many as fit the GPU's free memory, at most clients_per_round)"},
    {"run.checkpoint_every", FT_KEY_INT, "10", NULL, "write a resumable checkpoint every n rounds"},
    {"run.save_updates", FT_KEY_BOOL, "false", NULL, "save each round's K x N updates as .npy"},
    {"run.eval_batch", FT_KEY_INT, "64", NULL,
     "evaluation batch size (small keeps the coordinator's activation buffers small)"},
    {"run.eval_async", FT_KEY_BOOL, "true", NULL,
     "evaluate round t's model on a coordinator thread while round t+1 trains (same numbers)"},
    {"run.compare", FT_KEY_STRING, "", NULL,
     "variants to run and compare, 'label: k=v k=v; label: k=v' (empty: a single run)"},
    {"run.cache_dir", FT_KEY_STRING, "", NULL,
     "where federation.init = pretrain keeps pre-trained models for reuse ('': 'cache' in the "
     "run directory's parent, e.g. runs/cache for --out runs/x); made absolute in config.ini"},
    {"run.max_message_mb", FT_KEY_INT, "1024", NULL, "largest accepted network message"},
    {"run.on_nonfinite", FT_KEY_ENUM, "stop", "stop|continue",
     "when aggregation leaves NaN/Inf in the global model: stop the run (exit status 3) or "
     "continue; either way it is a model_destroyed event, the nonfinite_params column and "
     "summary.json's model_destroyed_round"},

    /* [security] */
    {"security.curve", FT_KEY_BOOL, "false", NULL, "CURVE-encrypt and authenticate transport"},
    {"security.server_secret_key", FT_KEY_STRING, "", NULL, "coordinator secret key file"},
    {"security.server_public_key", FT_KEY_STRING, "", NULL, "coordinator public key file"},
    {"security.client_secret_key", FT_KEY_STRING, "", NULL, "client secret key file"},
    {"security.client_public_key", FT_KEY_STRING, "", NULL, "client public key file"},
    {"security.authorized_clients", FT_KEY_STRING, "", NULL,
     "directory of allowed client public keys"},
    {"security.secure_aggregation", FT_KEY_BOOL, "false", NULL,
     "secure aggregation (Bonawitz et al. CCS 2017): the coordinator learns only the weighted "
     "sum of the round's updates; only rules that need just the sum may run (docs/security.md)"},
    {"security.secagg_threshold", FT_KEY_FLOAT, "0.5", NULL,
     "Shamir threshold t = floor(f * n) + 1 (at least 2) of the n clients that advertised "
     "keys; fewer than t survivors fail the round, which is retried"},
    {"security.secagg_scale_bits", FT_KEY_INT, "20", NULL,
     "fixed-point scale S = 2^bits of the ring Z_2^32 encoding"},
    {"security.secagg_clip", FT_KEY_FLOAT, "8", NULL,
     "each client's weighted coordinate (n_c / N_round * delta) is clamped to [-clip, clip]; "
     "K * (clip * 2^bits + 1/2) must stay below 2^31"},

    {NULL, FT_KEY_STRING, NULL, NULL, NULL},
};
