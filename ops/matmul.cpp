#include "ops/matmul.h"

#include <stdexcept>
#include <string>

namespace tandem::ops {
namespace {

using dnnl::memory;

memory::desc describe(const StridedMatrix& m, bool as_3d) {
  if (!as_3d) return memory::desc({m.rows, m.cols}, m.type, {m.row_stride, m.col_stride});
  return memory::desc(
      {m.batch, m.rows, m.cols}, m.type,
      {m.batch == 1 ? m.rows * m.cols : m.batch_stride, m.row_stride, m.col_stride});
}

std::string key_of(const StridedMatrix& m) {
  return std::string(m.type == memory::data_type::bf16 ? "h" : "f") + std::to_string(m.batch) +
         "x" + std::to_string(m.rows) + "x" + std::to_string(m.cols) + "/" +
         std::to_string(m.batch_stride) + "," + std::to_string(m.row_stride) + "," +
         std::to_string(m.col_stride);
}

std::string shape_of(const StridedMatrix& m) {
  return "[" + std::to_string(m.batch) + "," + std::to_string(m.rows) + "," +
         std::to_string(m.cols) + "]";
}

}  // namespace

void matmul(DnnlContext& ctx, const StridedMatrix& a, const StridedMatrix& b,
            const StridedMatrix& c, Accumulate accumulate, const float* bias,
            Activation activation) {
  const int64_t batch = c.batch;
  if (a.cols != b.rows || a.rows != c.rows || b.cols != c.cols ||
      (a.batch != batch && a.batch != 1) || (b.batch != batch && b.batch != 1))
    throw std::invalid_argument("matmul: shapes " + shape_of(a) + " x " + shape_of(b) + " -> " +
                                shape_of(c) + " do not match");
  if (a.type != b.type || c.type != memory::data_type::f32)
    throw std::invalid_argument("matmul: inputs must have one type and the output must be f32");
  if (activation != Activation::kNone && accumulate == Accumulate::kAdd)
    throw std::invalid_argument("matmul: an activation cannot be combined with accumulation");
  if (c.rows == 0 || c.cols == 0 || batch == 0) return;
  const bool as_3d = batch > 1 || a.batch > 1 || b.batch > 1;
  const std::string key = std::string("matmul|") + key_of(a) + "|" + key_of(b) + "|" + key_of(c) +
                          "|" + (accumulate == Accumulate::kAdd ? "add" : "set") + "|" +
                          (bias ? "bias" : "") + "|" +
                          (activation == Activation::kTanh ? "tanh" : "");
  dnnl::primitive* found = ctx.find_primitive(key);
  memory::desc a_md = describe(a, as_3d), b_md = describe(b, as_3d), c_md = describe(c, as_3d);
  memory::desc bias_md =
      as_3d ? memory::desc({1, 1, c.cols}, memory::data_type::f32, memory::format_tag::abc)
            : memory::desc({1, c.cols}, memory::data_type::f32, memory::format_tag::ab);
  if (!found) {
    dnnl::post_ops ops;
    if (accumulate == Accumulate::kAdd) ops.append_sum(1.0f);
    if (activation == Activation::kTanh)
      ops.append_eltwise(1.0f, dnnl::algorithm::eltwise_tanh, 0.0f, 0.0f);
    dnnl::primitive_attr attr = DnnlContext::attributes();
    attr.set_post_ops(ops);
    dnnl::matmul::desc desc =
        bias ? dnnl::matmul::desc(a_md, b_md, bias_md, c_md) : dnnl::matmul::desc(a_md, b_md, c_md);
    dnnl::matmul::primitive_desc pd(desc, attr, ctx.engine());
    found = &ctx.remember(key, dnnl::matmul(pd));
  }
  std::unordered_map<int, memory> args{{DNNL_ARG_SRC, user_memory(ctx, a_md, a.data)},
                                       {DNNL_ARG_WEIGHTS, user_memory(ctx, b_md, b.data)},
                                       {DNNL_ARG_DST, user_memory(ctx, c_md, c.data)}};
  if (bias) args.emplace(DNNL_ARG_BIAS, user_memory(ctx, bias_md, bias));
  ctx.run(*found, std::move(args));
}

void add_column_sums(DnnlContext& ctx, const float* dy, int64_t rows, int64_t cols,
                     float* bias_grad) {
  if (rows == 0) return;
  matmul(ctx, StridedMatrix::dense(ctx.ones(static_cast<size_t>(rows)), 1, rows),
         StridedMatrix::dense(dy, rows, cols), StridedMatrix::dense(bias_grad, 1, cols),
         Accumulate::kAdd);
}

}  // namespace tandem::ops
