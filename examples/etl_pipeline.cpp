// An ETL pipeline over generated sensor records, in the lecture's five stages:
//
//   Load     make a batch of raw records: per machine a temperature, 64 vibration samples and
//            whether it later failed; some records are malformed           (the source: serial)
//   Clean    drop the records that cannot be repaired, repair the others   (parallel)
//   Extract  one normalised feature vector per record, from the vibration
//            spectrum (a small DFT) and the temperature                    (parallel)
//   Train    one pass of SGD over the batch on a logistic-regression
//            fault detector                                                (serial in order)
//   Eval     the model's accuracy and log-loss on held-out records         (serial in order)
//
//   etl_pipeline [batches]          (default 200 batches of 1000 records)
//
// Different batches are in different stages at once, and Clean and Extract work on several
// batches at a time.  Train is serial in order: it sees the batches in the order Load made them
// under every policy, so trident::seq and trident::par train bit-identical models; the example
// checks that, prints each run's per-stage statistics (`std::cout << stats`) and the speedup.
#include "example_common.hpp"

#include <array>
#include <cmath>
#include <cstddef>
#include <cstdint>
#include <cstdio>
#include <cstring>
#include <iostream>
#include <optional>
#include <utility>
#include <vector>

namespace etl {

constexpr std::size_t records_per_batch = 1000;
constexpr std::size_t samples = 64; // vibration samples per record
constexpr std::size_t features = 8;
constexpr double pi = 3.14159265358979323846;

// ---- the data at each stage -------------------------------------------------------------------

struct raw_record {
    double temperature;                     // NaN when the sensor did not answer
    std::array<double, samples> vibration;  // a glitch shows up as a huge or NaN sample
    bool failed;                            // the label: the machine failed within a week
};

struct raw_batch {
    std::size_t index;
    std::vector<raw_record> records;
};

struct clean_batch {
    std::size_t index;
    std::vector<raw_record> records;
    std::size_t dropped, repaired;
};

using feature_vector = std::array<double, features>;

struct feature_batch {
    std::size_t index;
    std::vector<feature_vector> x;
    std::vector<double> y; // 1 failed, 0 did not
    std::size_t dropped, repaired;
};

struct model {
    std::array<double, features> w{};
};

struct trained_batch {
    std::size_t index;
    model snapshot;    // the model after this batch
    double train_loss; // mean log-loss on the batch, each record scored before the model learnt from it
    std::size_t records, dropped, repaired;
};

struct eval_point {
    std::size_t batch;
    double accuracy, log_loss, train_loss;
};

// ---- Load -------------------------------------------------------------------------------------

/// sin(2 pi k / samples), k = 0 .. samples-1; cos is sin a quarter turn later.
const std::array<double, samples>& sine_table()
{
    static const std::array<double, samples> table = [] {
        std::array<double, samples> t{};
        for (std::size_t k = 0; k < samples; ++k)
            t[k] = std::sin(2 * pi * static_cast<double>(k) / samples);
        return t;
    }();
    return table;
}

/// A uniform number in [0, 1) for draw `draw` of record `record`: the same under every policy.
double uniform(std::uint64_t record, std::uint64_t draw) { return example::random_unit(7000 + draw, record); }

/// Record `id`: a machine that fails (30%) runs hotter and vibrates at a fault frequency (bin 11)
/// beside its running frequency (bin 3); 5% of the labels are wrong, as in real maintenance logs.
/// 2% of the temperatures are missing and 1% read -273.15 (a dead sensor): those cannot be
/// repaired.  3% of the records have one glitched vibration sample: that can.
raw_record make_record(std::uint64_t id)
{
    const auto& sine = sine_table();
    raw_record r{};
    const bool fails = uniform(id, 0) < 0.3;
    r.failed = uniform(id, 1) < 0.05 ? !fails : fails;
    r.temperature = 60.0 + (fails ? 2.0 : 0.0) + 4.0 * (uniform(id, 2) + uniform(id, 3) - 1.0);
    const double fault_amplitude = fails ? 0.26 : 0.2;
    const auto phase = static_cast<std::size_t>(uniform(id, 4) * samples);
    for (std::size_t k = 0; k < samples; ++k)
        r.vibration[k] = 0.5 * sine[(3 * k) % samples] + fault_amplitude * sine[(11 * k + phase) % samples] +
                         0.4 * (uniform(id, 100 + k) - 0.5);

    const double defect = uniform(id, 5);
    if (defect < 0.02)
        r.temperature = std::nan("");
    else if (defect < 0.03)
        r.temperature = -273.15;
    else if (defect < 0.06)
        r.vibration[static_cast<std::size_t>(uniform(id, 6) * samples)] = defect < 0.045 ? 1e9 : std::nan("");
    return r;
}

/// Batch `index` of the stream (`seed` keeps the held-out records apart from the training ones).
raw_batch load(std::size_t index, std::uint64_t seed = 0)
{
    raw_batch b{index, std::vector<raw_record>(records_per_batch)};
    for (std::size_t i = 0; i < records_per_batch; ++i)
        b.records[i] = make_record(seed + index * records_per_batch + i);
    return b;
}

// ---- Clean ------------------------------------------------------------------------------------

bool plausible(double v) { return std::isfinite(v) && std::fabs(v) < 100.0; }

bool usable_temperature(const raw_record& r) { return std::isfinite(r.temperature) && r.temperature > -50.0; }

/// Replaces each glitched vibration sample by the mean of its neighbours (the signal is periodic:
/// the neighbours of sample 0 are 63 and 1); true when there was one.
bool repair_vibration(raw_record& r)
{
    bool repaired = false;
    for (std::size_t k = 0; k < samples; ++k)
        if (!plausible(r.vibration[k])) {
            const double before = r.vibration[(k + samples - 1) % samples];
            const double after = r.vibration[(k + 1) % samples];
            r.vibration[k] = 0.5 * ((plausible(before) ? before : 0.0) + (plausible(after) ? after : 0.0));
            repaired = true;
        }
    return repaired;
}

/// Drops the records without a usable temperature and repairs the others, in place (the batch's
/// memory moves on to the next stage rather than being copied).
clean_batch clean(raw_batch raw)
{
    clean_batch out{raw.index, std::move(raw.records), 0, 0};
    out.dropped = std::erase_if(out.records, [](const raw_record& r) { return !usable_temperature(r); });
    for (raw_record& r : out.records)
        out.repaired += repair_vibration(r) ? 1 : 0;
    return out;
}

// ---- Extract ----------------------------------------------------------------------------------

/// The amplitude of frequency bin `bin` of the signal (a one-bin DFT).
double amplitude(const std::array<double, samples>& v, std::size_t bin)
{
    const auto& sine = sine_table();
    double re = 0, im = 0;
    for (std::size_t k = 0; k < samples; ++k) {
        const std::size_t turn = (bin * k) % samples;
        re += v[k] * sine[(turn + samples / 4) % samples]; // cos
        im -= v[k] * sine[turn];
    }
    return 2.0 * std::sqrt(re * re + im * im) / samples;
}

/// Bias, temperature, running and fault amplitudes, RMS, crest factor, spectral centroid and the
/// share of high-frequency energy; each centred and scaled with constants from the sensors' data
/// sheets, so that every feature is of order 1 (SGD wants that).
feature_vector features_of(const raw_record& r)
{
    double energy = 0, peak = 0;
    for (double s : r.vibration) {
        energy += s * s;
        peak = std::fmax(peak, std::fabs(s));
    }
    const double rms = std::sqrt(energy / samples);
    double spectrum_sum = 0, weighted = 0, high = 0;
    std::array<double, samples / 2> spectrum{};
    for (std::size_t bin = 1; bin < samples / 2; ++bin) {
        spectrum[bin] = amplitude(r.vibration, bin);
        spectrum_sum += spectrum[bin];
        weighted += static_cast<double>(bin) * spectrum[bin];
        high += bin >= samples / 4 ? spectrum[bin] : 0.0;
    }
    return {1.0,
            (r.temperature - 61.0) / 2.0,
            (spectrum[3] - 0.5) / 0.1,
            (spectrum[11] - 0.22) / 0.03,
            (rms - 0.4) / 0.05,
            (peak / rms - 1.8) / 0.3,
            (weighted / spectrum_sum - 10.0) / 3.0,
            (high / spectrum_sum - 0.3) / 0.1};
}

feature_batch extract(const clean_batch& b)
{
    feature_batch out{b.index, {}, {}, b.dropped, b.repaired};
    out.x.reserve(b.records.size());
    out.y.reserve(b.records.size());
    for (const raw_record& r : b.records) {
        out.x.push_back(features_of(r));
        out.y.push_back(r.failed ? 1.0 : 0.0);
    }
    return out;
}

// ---- Train and Eval ---------------------------------------------------------------------------

/// The model's probability that the machine fails.
double predict(const model& m, const feature_vector& x)
{
    double z = 0;
    for (std::size_t j = 0; j < features; ++j)
        z += m.w[j] * x[j];
    return 1.0 / (1.0 + std::exp(-z));
}

double log_loss(double p, double y)
{
    constexpr double eps = 1e-12;
    return -(y * std::log(p + eps) + (1.0 - y) * std::log(1.0 - p + eps));
}

/// One pass of stochastic gradient descent over the batch, in record order; returns the mean loss
/// of each record scored just before the model learnt from it.
double sgd(model& m, const feature_batch& b)
{
    constexpr double learning_rate = 0.002;
    double loss = 0;
    for (std::size_t i = 0; i < b.x.size(); ++i) {
        const double p = predict(m, b.x[i]);
        loss += log_loss(p, b.y[i]);
        for (std::size_t j = 0; j < features; ++j)
            m.w[j] -= learning_rate * (p - b.y[i]) * b.x[i][j];
    }
    return b.x.empty() ? 0.0 : loss / static_cast<double>(b.x.size());
}

eval_point evaluate(const model& m, const feature_batch& held_out, std::size_t batch, double train_loss)
{
    std::size_t correct = 0;
    double loss = 0;
    for (std::size_t i = 0; i < held_out.x.size(); ++i) {
        const double p = predict(m, held_out.x[i]);
        correct += (p >= 0.5) == (held_out.y[i] == 1.0) ? 1 : 0;
        loss += log_loss(p, held_out.y[i]);
    }
    const auto n = static_cast<double>(held_out.x.size());
    return {batch, static_cast<double>(correct) / n, loss / n, train_loss};
}

// ---- the pipeline -----------------------------------------------------------------------------

struct run_result {
    model final_model;
    std::vector<eval_point> curve; // one point per batch
    std::size_t records = 0, dropped = 0, repaired = 0;
    trident::pipeline_stats stats;
};

template <class Policy>
run_result run(const Policy& policy, std::size_t batches, const feature_batch& held_out)
{
    run_result result;
    model current; // Train's state: only the serial Train stage touches it
    std::size_t next = 0;
    result.stats = trident::run_pipeline(
        policy,
        trident::source("load", [&]() -> std::optional<raw_batch> {
            if (next == batches)
                return std::nullopt;
            return load(next++);
        }),
        trident::stage("clean", trident::parallel_out_of_order, clean),
        trident::stage("extract", trident::parallel_out_of_order, extract),
        trident::stage("train", trident::serial_in_order,
                       [&current](const feature_batch& b) {
                           const double loss = sgd(current, b);
                           return trained_batch{b.index, current, loss, b.x.size(), b.dropped, b.repaired};
                       }),
        trident::stage("eval", trident::serial_in_order, [&](const trained_batch& t) {
            result.curve.push_back(evaluate(t.snapshot, held_out, t.index, t.train_loss));
            result.final_model = t.snapshot;
            result.records += t.records;
            result.dropped += t.dropped;
            result.repaired += t.repaired;
        }));
    return result;
}

/// Whether two runs trained the same model, bit for bit, through the same learning curve.
bool same(const run_result& a, const run_result& b)
{
    if (std::memcmp(a.final_model.w.data(), b.final_model.w.data(), sizeof a.final_model.w) != 0 ||
        a.curve.size() != b.curve.size() || a.records != b.records)
        return false;
    for (std::size_t i = 0; i < a.curve.size(); ++i)
        if (a.curve[i].accuracy != b.curve[i].accuracy || a.curve[i].log_loss != b.curve[i].log_loss)
            return false;
    return true;
}

void print_curve(const run_result& r)
{
    std::printf("  after batch   train loss   held-out loss   held-out accuracy\n");
    const std::size_t step = r.curve.size() > 8 ? r.curve.size() / 8 : 1;
    for (std::size_t i = 0; i < r.curve.size(); ++i)
        if (i % step == 0 || i + 1 == r.curve.size()) {
            const eval_point& p = r.curve[i];
            std::printf("  %11zu %12.4f %15.4f %18.1f%%\n", p.batch + 1, p.train_loss, p.log_loss, 100 * p.accuracy);
        }
    std::printf("  weights:");
    for (double w : r.final_model.w)
        std::printf(" %.4f", w);
    std::printf("\n");
}

} // namespace etl

int main(int argc, char** argv)
{
    using namespace etl;
    const std::size_t batches = example::size_argument(argc, argv, 200, "batches");
    std::printf("etl_pipeline: %zu batches of %zu records, %zu features\n", batches, records_per_batch, features);

    // Held-out records for Eval: made like the training ones, from another part of the stream.
    const feature_batch held_out = extract(clean(load(0, 1'000'000'000)));

    const run_result seq_run = run(trident::seq, batches, held_out);
    std::printf("%zu records loaded, %zu dropped (unusable temperature), %zu repaired (vibration glitch)\n",
                seq_run.records + seq_run.dropped, seq_run.dropped, seq_run.repaired);
    print_curve(seq_run);
    std::cout << "\nseq:\n" << seq_run.stats;

    const run_result par_run = run(trident::par, batches, held_out);
    std::cout << "\npar:\n" << par_run.stats << '\n';

    const double seq_ms = seq_run.stats.wall_seconds * 1e3;
    example::print_time("seq", seq_ms, 0);
    example::print_time("par", par_run.stats.wall_seconds * 1e3, seq_ms);

    const bool ok = same(seq_run, par_run);
    std::printf(ok ? "seq and par trained bit-identical models\n" : "FAILED: seq and par trained different models\n");
    return ok ? 0 : 1;
}
