#pragma once
/// \file reference.hpp
/// A whole `sequential` run on ONE device: inference (`forward`), the gradients of a batch split into
/// micro-batches (`accumulate_gradients`) and a training step (`reference_trainer`).  This is the
/// unsharded reference that every pipeline schedule is tested against for bitwise equality, so its
/// order is the contract:
///
/// 1. The batch's rows are split into m contiguous micro-batches by `micro_batch_rows(rows, m, k)`:
///    the first rows % m micro-batches have rows / m + 1 rows, the others rows / m.
/// 2. For k = 0, 1, ..., m - 1 in order: forward through every layer; the loss's value (summed over
///    the rows) and its gradient with scale = 1 / rows (the whole batch's rows); backward from the last
///    layer to the first, each layer's backward_input then backward_weight (layer 0's backward_input
///    is skipped when the layer splits: nothing uses it), so each layer's gradients receive the
///    micro-batches' contributions in micro-batch order.
/// 3. reference_trainer::step zeroes every gradient before 1 and, after 2, applies the optimizer
///    layer by layer (layer 0 first), the step count starting at 1.
///
/// Every activation, saved state and gradient in transit is a `tensor` booked on the device; the
/// trainer books the parameters, gradients and optimizer state of every layer at construction, so a
/// net that does not fit fails there with trident::out_of_memory.  All layer calls run inside
/// `device::execute` (the device's arena).
///
/// \code
///   namespace mp = trident::model;
///   using namespace trident::literals;
///   mp::sequential net{mp::dense(4, 8, 1), mp::relu(), mp::dense(8, 3, 2)};
///   mp::reference_trainer trainer(net, trident::cpu_device(1, 1_MiB), mp::softmax_cross_entropy{},
///                                 mp::adam{.learning_rate = 1e-2});
///   double mean_loss = trainer.step(x, labels, /*micro_batches*/ 4);   // x: rows x 4, labels: rows x 1
/// \endcode
///
/// Complexity: one forward and one backward of every layer per sample.
/// \throws std::invalid_argument for mismatched shapes or a micro-batch count outside [1, rows];
///   trident::out_of_memory when the device's budget is exceeded; whatever a layer throws.

#include "trident/device.hpp"
#include "trident/matrix_view.hpp"
#include "trident/model/detail/parameter_booking.hpp"
#include "trident/model/loss.hpp"
#include "trident/model/optimizer.hpp"
#include "trident/model/sequential.hpp"
#include "trident/model/tensor.hpp"

#include <algorithm>
#include <cstddef>
#include <stdexcept>
#include <string>
#include <utility>
#include <vector>

namespace trident::model {

/// Rows [first, first + count) of a batch.
struct row_range {
    std::size_t first = 0;
    std::size_t count = 0;
};

/// Micro-batch k of a batch of `rows` rows split into `micro_batches`.
/// \throws std::invalid_argument unless 1 <= micro_batches <= rows and k < micro_batches.
[[nodiscard]] inline row_range micro_batch_rows(std::size_t rows, std::size_t micro_batches, std::size_t k)
{
    if (micro_batches < 1 || micro_batches > rows)
        throw std::invalid_argument("trident::model: " + std::to_string(micro_batches) +
                                    " micro-batches for a batch of " + std::to_string(rows) +
                                    " rows (needs 1 <= micro-batches <= rows)");
    if (k >= micro_batches)
        throw std::invalid_argument("trident::model::micro_batch_rows: micro-batch " + std::to_string(k) + " of " +
                                    std::to_string(micro_batches));
    const std::size_t base = rows / micro_batches, extra = rows % micro_batches;
    return {k * base + std::min(k, extra), base + (k < extra ? 1 : 0)};
}

namespace detail_reference {
struct activations {
    std::vector<tensor> outputs; // outputs[i]: layer i's output
    std::vector<tensor> saved;   // saved[i]: layer i's saved floats (1 x n)
};

inline activations run_forward(sequential& net, const device& dev, matrix_view<const float> x, std::size_t k)
{
    activations a;
    const auto widths = net.widths(x.cols());
    matrix_view<const float> in = x;
    for (std::size_t i = 0; i < net.size(); ++i) {
        const std::string tag = " of layer " + std::to_string(i) + " (" + net[i].name() + "), micro-batch " +
                                std::to_string(k);
        a.outputs.emplace_back(dev, x.rows(), widths[i], "output" + tag);
        a.saved.emplace_back(dev, 1, net[i].saved_floats(x.rows(), in.cols()), "saved state" + tag);
        net[i].forward(in, a.outputs[i].view(), a.saved[i].span());
        in = a.outputs[i].view();
    }
    return a;
}
} // namespace detail_reference

/// The network's output for `x` (all rows at once), computed on `dev`.
[[nodiscard]] inline tensor forward(sequential& net, const device& dev, matrix_view<const float> x)
{
    return dev.execute([&] {
        if (net.empty()) {
            tensor out(dev, x.rows(), x.cols(), "output");
            for (std::size_t r = 0; r < x.rows(); ++r)
                std::copy(x.row(r).begin(), x.row(r).end(), out.view().row(r).begin());
            return out;
        }
        auto a = detail_reference::run_forward(net, dev, x, 0);
        return std::move(a.outputs.back());
    });
}

/// Adds the gradients of the batch's mean loss (sum over rows / rows) to every layer's gradients(),
/// micro-batch by micro-batch as described above; returns the mean loss.
template <loss Loss>
double accumulate_gradients(sequential& net, const device& dev, matrix_view<const float> x,
                            matrix_view<const float> targets, const Loss& loss_fn, std::size_t micro_batches)
{
    if (targets.rows() != x.rows())
        throw std::invalid_argument("trident::model::accumulate_gradients: " + std::to_string(x.rows()) +
                                    " input rows but " + std::to_string(targets.rows()) + " target rows");
    if (net.empty())
        throw std::invalid_argument("trident::model::accumulate_gradients: the network has no layer");
    const std::size_t out_width = net.output_features(x.cols());
    if (targets.cols() != loss_fn.target_features(out_width))
        throw std::invalid_argument("trident::model::accumulate_gradients: targets have " +
                                    std::to_string(targets.cols()) + " columns, " + loss_fn.name() + " takes " +
                                    std::to_string(loss_fn.target_features(out_width)));
    (void)micro_batch_rows(x.rows(), micro_batches, 0); // checks the count
    const float scale = 1.0f / static_cast<float>(x.rows());
    return dev.execute([&] {
        double total = 0.0;
        for (std::size_t k = 0; k < micro_batches; ++k) {
            const row_range rr = micro_batch_rows(x.rows(), micro_batches, k);
            const auto xk = x.row_block(rr.first, rr.count);
            const auto tk = targets.row_block(rr.first, rr.count);
            auto a = detail_reference::run_forward(net, dev, xk, k);
            const matrix_view<const float> logits = a.outputs.back().view();
            total += loss_fn.value(logits, tk);
            tensor grad_out(dev, rr.count, out_width, "loss gradient, micro-batch " + std::to_string(k));
            loss_fn.gradient(logits, tk, grad_out.view(), scale);
            for (std::size_t i = net.size(); i-- > 0;) {
                const matrix_view<const float> in = i == 0 ? xk : a.outputs[i - 1].view();
                const matrix_view<const float> out = a.outputs[i].view();
                const std::span<const float> saved = a.saved[i].span();
                if (i == 0 && net[i].splits_backward()) {
                    net[i].backward_weight(in, out, saved, grad_out.view());
                    break;
                }
                tensor grad_in(dev, rr.count, in.cols(),
                               "input gradient of layer " + std::to_string(i) + ", micro-batch " + std::to_string(k));
                net[i].backward_input(in, out, saved, grad_out.view(), grad_in.view());
                net[i].backward_weight(in, out, saved, grad_out.view());
                a.outputs[i] = tensor(); // no longer needed: give its bytes back
                grad_out = std::move(grad_in);
            }
        }
        return total / static_cast<double>(x.rows());
    });
}

/// Trains `net` on one device: the reference for every sharded schedule.  Holds the optimizer state
/// and the step count; books parameters, gradients and state on the device for its lifetime (a layer
/// that places its parameters itself, like the tensor-parallel ones, keeps them and its optimizer
/// state on its shard devices: layer.hpp's parameter_placement()).
template <loss Loss, optimizer Optimizer>
class reference_trainer {
public:
    /// \throws trident::out_of_memory when the parameters, gradients and optimizer state do not fit.
    reference_trainer(sequential& net, device dev, Loss loss_fn = {}, Optimizer opt = {})
        : net_(&net), dev_(std::move(dev)), loss_(std::move(loss_fn)), optimizer_(std::move(opt))
    {
        for (std::size_t i = 0; i < net.size(); ++i)
            bookings_.emplace_back(net[i], dev_, "layer " + std::to_string(i) + " (" + net[i].name() + ")",
                                   [&](std::size_t n) { return optimizer_.state_floats(n); },
                                   optimizer_.name() + " state");
    }

    /// One training step on the batch (x, targets) in `micro_batches` micro-batches; returns the mean
    /// loss before the update.
    double step(matrix_view<const float> x, matrix_view<const float> targets, std::size_t micro_batches)
    {
        net_->zero_gradients();
        const double mean_loss = accumulate_gradients(*net_, dev_, x, targets, loss_, micro_batches);
        ++steps_;
        for (std::size_t i = 0; i < net_->size(); ++i)
            bookings_[i].update((*net_)[i], [&](std::span<float> p, std::span<const float> g, std::span<float> state) {
                optimizer_.update(p, g, state, steps_);
            });
        return mean_loss;
    }

    [[nodiscard]] std::size_t steps() const noexcept { return steps_; }
    [[nodiscard]] const device& on() const noexcept { return dev_; }
    /// Layer i's optimizer state (of its shard `shard` for a layer that places its parameters itself,
    /// layer.hpp's parameter_placement(); empty for a layer without parameters).
    [[nodiscard]] std::span<const float> state(std::size_t i, std::size_t shard = 0) const
    {
        const detail::parameter_booking& b = bookings_.at(i);
        return b.shards() == 0 ? std::span<const float>() : b.state(shard);
    }

private:
    sequential* net_;
    device dev_;
    Loss loss_;
    Optimizer optimizer_;
    std::vector<detail::parameter_booking> bookings_;
    std::size_t steps_ = 0;
};

} // namespace trident::model
