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

use super::{cpu, GptBackend};

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
struct AttentionNode;

impl Backward<Flex, 3> for AttentionNode {
    /// q, k, v and the attention probabilities.
    type State = [FlexTensor; 4];

    fn backward(self, ops: Ops<Self::State, 3>, grads: &mut Gradients, _: &mut Checkpointer) {
        let grad = grads.consume::<Flex>(&ops.node);
        let [q, k, v, probs] = ops.state;
        register!(
            grads,
            ops.parents,
            cpu::attention_backward(&q, &k, &v, &probs, &grad),
        );
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

/// CPU training: the fused kernels, for f32 tensors (anything else takes burn's operations).
impl GptBackend for CpuTrain {
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
        let out = match AttentionNode
            .prepare::<NoCheckpointing>(nodes)
            .compute_bound()
            .stateful()
        {
            OpsKind::Tracked(prep) => {
                let (out, probs) = cpu::attention(&q.primitive, &k.primitive, &v.primitive);
                prep.finish([q.primitive, k.primitive, v.primitive, probs], out)
            }
            OpsKind::UnTracked(prep) => {
                prep.finish(cpu::attention(&q.primitive, &k.primitive, &v.primitive).0)
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
