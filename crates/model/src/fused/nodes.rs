//! The fused operations as single nodes of burn's autodiff graph on the CPU training backend:
//! the forward pass runs a [`cpu`] kernel and keeps what its backward kernel needs.

use burn::backend::autodiff::checkpoint::base::Checkpointer;
use burn::backend::autodiff::checkpoint::strategy::NoCheckpointing;
use burn::backend::autodiff::grads::Gradients;
use burn::backend::autodiff::ops::{Backward, Ops, OpsKind};
use burn::backend::autodiff::Autodiff;
use burn::backend::flex::FlexTensor;
use burn::backend::Flex;
use burn::tensor::ops::FloatTensor;
use burn::tensor::{Int, Tensor, TensorPrimitive};

use super::{cpu, cpu_precision, GptBackend, Precision};

type CpuTrain = Autodiff<Flex>;
fn float<const D: usize>(t: Tensor<CpuTrain, D>) -> FloatTensor<CpuTrain> {
    t.into_primitive().tensor()
}

fn wrap<const D: usize>(t: FloatTensor<CpuTrain>) -> Tensor<CpuTrain, D> {
    Tensor::from_primitive(TensorPrimitive::Float(t))
}

/// Hands each parent node that wants one its gradient (burn does not export the node type, so
/// a macro rather than a function).
macro_rules! register {
    ($grads:expr, $parents:expr, $values:expr $(,)?) => {
        for (parent, grad) in $parents.into_iter().zip($values) {
            if let Some(node) = parent {
                $grads.register::<Flex>(node.id, grad);
            }
        }
    };
}

#[derive(Debug)]
struct LinearNode;

impl Backward<Flex, 4> for LinearNode {
    /// x, w and the precision of the forward products. Parents: x, w, bias, residual (an
    /// untracked stand-in where the layer has none).
    type State = (FlexTensor, FlexTensor, Precision);

    fn backward(self, ops: Ops<Self::State, 4>, grads: &mut Gradients, _: &mut Checkpointer) {
        let grad = grads.consume::<Flex>(&ops.node);
        let (x, w, precision) = ops.state;
        let [px, pw, pb, pr] = ops.parents;
        let wanted = cpu::Wanted {
            x: px.is_some(),
            w: pw.is_some(),
            bias: pb.is_some(),
        };
        let [dx, dw, db] = cpu::linear_backward(&x, &w, &grad, precision, wanted);
        // The residual passes the gradient through unchanged.
        let dr = pr.is_some().then(|| grad.clone());
        for (parent, g) in [px, pw, pb, pr].into_iter().zip([dx, dw, db, dr]) {
            if let (Some(node), Some(g)) = (parent, g) {
                grads.register::<Flex>(node.id, g);
            }
        }
    }
}

#[derive(Debug)]
struct AttentionNode;

impl Backward<Flex, 3> for AttentionNode {
    /// q, k, v, the attention probabilities and the precision of the forward products.
    type State = ([FlexTensor; 4], Precision);

    fn backward(self, ops: Ops<Self::State, 3>, grads: &mut Gradients, _: &mut Checkpointer) {
        let grad = grads.consume::<Flex>(&ops.node);
        let ([q, k, v, probs], precision) = ops.state;
        register!(
            grads,
            ops.parents,
            cpu::attention_backward(&q, &k, &v, &probs, &grad, precision),
        );
    }
}

#[derive(Debug)]
struct SelfAttentionNode;

impl Backward<Flex, 1> for SelfAttentionNode {
    /// qkv, the attention probabilities, the number of heads and the products' precision.
    type State = (FlexTensor, FlexTensor, usize, Precision);

    fn backward(self, ops: Ops<Self::State, 1>, grads: &mut Gradients, _: &mut Checkpointer) {
        let grad = grads.consume::<Flex>(&ops.node);
        let (qkv, probs, n_head, precision) = ops.state;
        let dqkv = cpu::self_attention_backward(&qkv, &probs, &grad, n_head, precision);
        register!(grads, ops.parents, [dqkv]);
    }
}

#[derive(Debug)]
struct LayerNormNode;

impl Backward<Flex, 3> for LayerNormNode {
    /// x, gamma and the row statistics.
    type State = (FlexTensor, FlexTensor, cpu::NormStats);

    fn backward(self, ops: Ops<Self::State, 3>, grads: &mut Gradients, _: &mut Checkpointer) {
        let grad = grads.consume::<Flex>(&ops.node);
        let (x, gamma, stats) = ops.state;
        let (dx, dgamma, dbeta) = cpu::layernorm_backward(&x, &stats, &gamma, &grad);
        register!(grads, ops.parents, [dx, dgamma, dbeta]);
    }
}

#[derive(Debug)]
struct GeluNode;

impl Backward<Flex, 1> for GeluNode {
    /// The input.
    type State = FlexTensor;

    fn backward(self, ops: Ops<Self::State, 1>, grads: &mut Gradients, _: &mut Checkpointer) {
        let grad = grads.consume::<Flex>(&ops.node);
        register!(grads, ops.parents, [cpu::gelu_backward(&ops.state, &grad)]);
    }
}

#[derive(Debug)]
struct CrossEntropyNode;

impl Backward<Flex, 1> for CrossEntropyNode {
    /// The logits and the row statistics.
    type State = (FlexTensor, cpu::LossStats);

    fn backward(self, ops: Ops<Self::State, 1>, grads: &mut Gradients, _: &mut Checkpointer) {
        let grad = grads.consume::<Flex>(&ops.node);
        let (logits, stats) = ops.state;
        register!(
            grads,
            ops.parents,
            [cpu::cross_entropy_backward(&logits, &stats, &grad)],
        );
    }
}

/// An untracked stand-in for an absent input of a node with a fixed number of parents.
fn absent() -> FloatTensor<CpuTrain> {
    float(Tensor::<CpuTrain, 1>::zeros([1], &Default::default()))
}

/// CPU training: the fused kernels, for f32 tensors (anything else takes burn's operations).
impl GptBackend for CpuTrain {
    const RAYON: bool = true;

    fn fused_linear(
        x: Tensor<Self, 2>,
        w: Tensor<Self, 2>,
        bias: Option<Tensor<Self, 1>>,
        residual: Option<Tensor<Self, 2>>,
    ) -> Tensor<Self, 2> {
        let (x, w) = (float(x), float(w));
        let (bias, residual) = (bias.map(float), residual.map(float));
        let mut all = vec![&x.primitive, &w.primitive];
        all.extend(bias.iter().chain(&residual).map(|t| &t.primitive));
        if !cpu::supported(&all) {
            return super::burn_linear(wrap(x), wrap(w), bias.map(wrap), residual.map(wrap));
        }
        let precision = cpu_precision();
        let y = cpu::linear(
            &x.primitive,
            &w.primitive,
            bias.as_ref().map(|b| &b.primitive),
            residual.as_ref().map(|r| &r.primitive),
            precision,
        );
        let (bias, residual) = (bias.unwrap_or_else(absent), residual.unwrap_or_else(absent));
        let nodes = [x.node, w.node, bias.node, residual.node];
        let out = match LinearNode
            .prepare::<NoCheckpointing>(nodes)
            .compute_bound()
            .stateful()
        {
            OpsKind::Tracked(prep) => prep.finish((x.primitive, w.primitive, precision), y),
            OpsKind::UnTracked(prep) => prep.finish(y),
        };
        wrap(out)
    }

    fn causal_attention(
        q: Tensor<Self, 4>,
        k: Tensor<Self, 4>,
        v: Tensor<Self, 4>,
    ) -> Tensor<Self, 4> {
        let (q, k, v) = (float(q), float(k), float(v));
        if !cpu::supported(&[&q.primitive, &k.primitive, &v.primitive]) {
            return super::burn_attention(wrap(q), wrap(k), wrap(v));
        }
        let nodes = [q.node.clone(), k.node.clone(), v.node.clone()];
        let precision = cpu_precision();
        let out = match AttentionNode
            .prepare::<NoCheckpointing>(nodes)
            .compute_bound()
            .stateful()
        {
            OpsKind::Tracked(prep) => {
                let (out, probs) =
                    cpu::attention(&q.primitive, &k.primitive, &v.primitive, precision);
                prep.finish(
                    ([q.primitive, k.primitive, v.primitive, probs], precision),
                    out,
                )
            }
            OpsKind::UnTracked(prep) => {
                prep.finish(cpu::attention(&q.primitive, &k.primitive, &v.primitive, precision).0)
            }
        };
        wrap(out)
    }

    fn causal_self_attention(qkv: Tensor<Self, 3>, n_head: usize) -> Tensor<Self, 3> {
        let qkv = float(qkv);
        if !cpu::supported(&[&qkv.primitive]) {
            return super::burn_self_attention(wrap(qkv), n_head);
        }
        let precision = cpu_precision();
        let out = match SelfAttentionNode
            .prepare::<NoCheckpointing>([qkv.node.clone()])
            .compute_bound()
            .stateful()
        {
            OpsKind::Tracked(prep) => {
                let (out, probs) = cpu::self_attention(&qkv.primitive, n_head, precision);
                prep.finish((qkv.primitive, probs, n_head, precision), out)
            }
            OpsKind::UnTracked(prep) => {
                prep.finish(cpu::self_attention(&qkv.primitive, n_head, precision).0)
            }
        };
        wrap(out)
    }

    fn layernorm(
        x: Tensor<Self, 3>,
        gamma: Tensor<Self, 1>,
        beta: Option<Tensor<Self, 1>>,
        epsilon: f64,
    ) -> Tensor<Self, 3> {
        let (x, gamma) = (float(x), float(gamma));
        let beta = match beta.map(float) {
            Some(beta) if cpu::supported(&[&x.primitive, &gamma.primitive, &beta.primitive]) => {
                beta
            }
            beta => return super::burn_layernorm(wrap(x), wrap(gamma), beta.map(wrap), epsilon),
        };
        let nodes = [x.node.clone(), gamma.node.clone(), beta.node.clone()];
        let (y, stats) = cpu::layernorm(&x.primitive, &gamma.primitive, &beta.primitive, epsilon);
        let out = match LayerNormNode
            .prepare::<NoCheckpointing>(nodes)
            .compute_bound()
            .stateful()
        {
            OpsKind::Tracked(prep) => prep.finish((x.primitive, gamma.primitive, stats), y),
            OpsKind::UnTracked(prep) => prep.finish(y),
        };
        wrap(out)
    }

    fn exact_gelu<const D: usize>(x: Tensor<Self, D>) -> Tensor<Self, D> {
        let x = float(x);
        if !cpu::supported(&[&x.primitive]) {
            return burn::tensor::activation::gelu(wrap(x));
        }
        let y = cpu::gelu(&x.primitive);
        let out = match GeluNode
            .prepare::<NoCheckpointing>([x.node.clone()])
            .compute_bound()
            .stateful()
        {
            OpsKind::Tracked(prep) => prep.finish(x.primitive, y),
            OpsKind::UnTracked(prep) => prep.finish(y),
        };
        wrap(out)
    }

    fn cross_entropy(logits: Tensor<Self, 2>, targets: Tensor<Self, 1, Int>) -> Tensor<Self, 1> {
        let logits = float(logits);
        if !cpu::supported(&[&logits.primitive]) {
            return super::burn_cross_entropy(wrap(logits), targets);
        }
        let ids: Vec<usize> = targets
            .into_data()
            .iter::<i64>()
            .map(|t| usize::try_from(t).unwrap_or(usize::MAX))
            .collect();
        let (loss, stats) = cpu::cross_entropy(&logits.primitive, ids);
        let out = match CrossEntropyNode
            .prepare::<NoCheckpointing>([logits.node.clone()])
            .compute_bound()
            .stateful()
        {
            OpsKind::Tracked(prep) => prep.finish((logits.primitive, stats), loss),
            OpsKind::UnTracked(prep) => prep.finish(loss),
        };
        wrap(out)
    }
}
