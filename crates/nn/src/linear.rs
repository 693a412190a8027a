//! [`Linear`]: the affine layer `y = x·Wᵀ + b`.

use tape::{Array, Element, Tape, Tensor};

use crate::{BoundModel, Init, Model, NnError};

/// A fully connected layer `y = x·Wᵀ + b`, mapping `[batch, in]` to `[batch, out]` — or, as
/// PyTorch's `nn.Linear`, any `[…, in]` to `[…, out]`: a single sample `[in]`, or several
/// leading dimensions, each position mapped by the same weight.
///
/// The weight is stored `[out, in]`, PyTorch's layout, so checkpoints map one to one; the
/// product reads it transposed through strides (`matmul_t`), without a copy. Its gradient is
/// `∂W = gᵀ·x` and `∂b = Σ_batch g`, both from the tape.
///
/// ```
/// use nn::{BoundModel, Linear, Model};
/// use tape::{Array, Tape};
/// let w = Array::from_vec(vec![1.0, 2.0, 3.0, 4.0, 5.0, 6.0], &[2, 3]).unwrap();
/// let b = Array::from_vec(vec![0.5, -0.5], &[2]).unwrap();
/// let layer = Linear::from_arrays(w, Some(b)).unwrap();
/// let tape = Tape::<f64>::new();
/// let x = tape.tensor_from_vec(vec![1.0, 0.0, -1.0], &[1, 3]).unwrap();
/// // [1·1 + 0·2 − 1·3 + 0.5, 1·4 + 0·5 − 1·6 − 0.5]
/// assert_eq!(layer.bind(&tape).forward(x).to_vec(), vec![-1.5, -2.5]);
/// ```
#[derive(Clone, Debug, PartialEq)]
pub struct Linear<T: Element> {
    /// The weight `W`, shape `[out, in]`.
    ///
    /// The constructors make both parameters [shared](Array::shared), so that binding the layer
    /// onto a tape refers to them instead of copying them; an update after the tape is cleared
    /// then writes in place.
    pub weight: Array<T>,
    /// The bias `b`, shape `[out]`, if the layer has one.
    pub bias: Option<Array<T>>,
}

impl<T: Element> Linear<T> {
    /// A layer from `n_in` to `n_out` features, the weight drawn by `init` with `seed`, the
    /// bias zero.
    ///
    /// ```
    /// use nn::{Init, Linear};
    /// let layer = Linear::<f32>::new(784, 10, Init::XavierUniform, 1);
    /// assert_eq!(layer.weight.shape(), &[10, 784]);
    /// assert_eq!(layer.bias.as_ref().unwrap().data(), &[0.0; 10]);
    /// ```
    pub fn new(n_in: usize, n_out: usize, init: Init, seed: u64) -> Self {
        Linear {
            weight: init.array(&[n_out, n_in], seed).shared(),
            bias: Some(Array::zeros(&[n_out]).shared()),
        }
    }

    /// A layer with no bias: `y = x·Wᵀ`.
    ///
    /// ```
    /// let layer = nn::Linear::<f64>::without_bias(3, 2, nn::Init::HeNormal, 0);
    /// assert!(layer.bias.is_none());
    /// ```
    pub fn without_bias(n_in: usize, n_out: usize, init: Init, seed: u64) -> Self {
        Linear {
            weight: init.array(&[n_out, n_in], seed).shared(),
            bias: None,
        }
    }

    /// A layer from given arrays: `weight` `[out, in]`, `bias` `[out]`.
    ///
    /// # Errors
    /// [`NnError::BadShape`] if the weight is not 2-D; [`NnError::ShapeMismatch`] if the bias
    /// is not `[out]`.
    ///
    /// ```
    /// use tape::Array;
    /// let err = nn::Linear::<f64>::from_arrays(Array::zeros(&[2, 3]), Some(Array::zeros(&[3])));
    /// assert_eq!(
    ///     err.unwrap_err().to_string(),
    ///     "linear: the bias must be [out] for a weight [out, in]: [3] vs [2, 3]"
    /// );
    /// ```
    pub fn from_arrays(weight: Array<T>, bias: Option<Array<T>>) -> Result<Self, NnError> {
        check_shapes(weight.shape(), bias.as_ref().map(Array::shape))?;
        Ok(Linear {
            weight: weight.shared(),
            bias: bias.map(Array::shared),
        })
    }

    /// The number of input features.
    ///
    /// ```
    /// let layer = nn::Linear::<f64>::new(3, 2, nn::Init::Zeros, 0);
    /// assert_eq!(layer.n_in(), 3); // the weight is [out, in] = [2, 3]
    /// ```
    pub fn n_in(&self) -> usize {
        self.weight.shape()[1]
    }

    /// The number of output features.
    ///
    /// ```
    /// let layer = nn::Linear::<f64>::new(3, 2, nn::Init::Zeros, 0);
    /// assert_eq!(layer.n_out(), 2); // the weight is [out, in] = [2, 3]
    /// ```
    pub fn n_out(&self) -> usize {
        self.weight.shape()[0]
    }
}

const OP: &str = "linear";

fn check_shapes(weight: &[usize], bias: Option<&[usize]>) -> Result<(), NnError> {
    if weight.len() != 2 {
        return Err(NnError::bad_shape(OP, "a 2-D weight [out, in]", weight));
    }
    match bias {
        Some(b) if b != [weight[0]] => Err(NnError::mismatch(
            OP,
            "the bias must be [out] for a weight [out, in]",
            b,
            weight,
        )),
        _ => Ok(()),
    }
}

impl<T: Element> Model<T> for Linear<T> {
    type Bound<'t> = BoundLinear<'t, T>;

    fn bind<'t>(&self, tape: &'t Tape<T>) -> BoundLinear<'t, T> {
        BoundLinear {
            weight: tape.tensor(self.weight.clone()),
            bias: self.bias.as_ref().map(|b| tape.tensor(b.clone())),
        }
    }

    fn visit_params(&self, f: &mut dyn FnMut(&str, &Array<T>)) {
        f("weight", &self.weight);
        if let Some(b) = &self.bias {
            f("bias", b);
        }
    }

    fn visit_params_mut(&mut self, f: &mut dyn FnMut(&str, &mut Array<T>)) {
        f("weight", &mut self.weight);
        if let Some(b) = &mut self.bias {
            f("bias", b);
        }
    }
}

/// A [`Linear`] layer bound onto a tape: the handles of its parameters.
///
/// ```
/// use nn::{BoundModel, Init, Linear, Model};
/// let tape = tape::Tape::<f64>::new();
/// let bound = Linear::<f64>::new(3, 2, Init::Zeros, 0).bind(&tape);
/// assert_eq!(bound.weight.shape().as_slice(), &[2, 3]);
/// let y = bound.forward(tape.ones(&[4, 3]));
/// // ∂(Σ y)/∂b = the batch size, for each output
/// assert_eq!(y.sum().backward().wrt(bound.bias.unwrap()).data(), &[4.0, 4.0]);
/// ```
#[derive(Clone, Copy, Debug)]
pub struct BoundLinear<'t, T: Element> {
    /// The weight, `[out, in]`.
    pub weight: Tensor<'t, T>,
    /// The bias, `[out]`.
    pub bias: Option<Tensor<'t, T>>,
}

impl<'t, T: Element> BoundModel<'t, T> for BoundLinear<'t, T> {
    /// `x·Wᵀ + b` for `x` of shape `[batch, in]`, giving `[batch, out]`; for any other
    /// `[…, in]` (one sample `[in]`, or more leading dimensions), the same map at every
    /// leading position, giving `[…, out]`. Those shapes are recorded as reshapes around the
    /// 2-D product, which backward undoes.
    ///
    /// ```
    /// use nn::{BoundModel, Init, Linear, Model};
    /// let tape = tape::Tape::<f64>::new();
    /// let bound = Linear::new(3, 2, Init::XavierUniform, 7).bind(&tape);
    /// let x = tape.tensor(tape::Array::rand_uniform(&[4, 5, 3], -1.0, 1.0, 1));
    /// assert_eq!(bound.forward(x).shape().as_slice(), &[4, 5, 2]);
    /// let one = tape.tensor_from_vec(vec![1.0, 2.0, 3.0], &[3]).unwrap();
    /// assert_eq!(bound.forward(one).shape().as_slice(), &[2]);
    /// ```
    ///
    /// # Errors
    /// [`NnError::BadShape`] if `x` is 0-dimensional; [`NnError::ShapeMismatch`] if its last
    /// dimension is not the weight's `in`.
    ///
    /// ```
    /// use nn::{BoundModel, Init, Linear, Model};
    /// let tape = tape::Tape::<f64>::new();
    /// let bound = Linear::new(2, 5, Init::Zeros, 0).bind(&tape);
    /// let err = bound.try_forward(tape.zeros(&[4, 3])).unwrap_err();
    /// assert_eq!(
    ///     err.to_string(),
    ///     "linear: input features differ from the weight's [out, in]: [4, 3] vs [5, 2]"
    /// );
    /// ```
    fn try_forward(&self, x: Tensor<'t, T>) -> Result<Tensor<'t, T>, NnError> {
        let (xs, ws) = (x.shape(), self.weight.shape());
        let bias_shape = self.bias.map(|b| b.shape());
        check_shapes(&ws, bias_shape.as_deref())?;
        let Some(&features) = xs.last() else {
            return Err(NnError::bad_shape(OP, "an input [..., in]", &xs));
        };
        if features != ws[1] {
            return Err(NnError::mismatch(
                OP,
                "input features differ from the weight's [out, in]",
                &xs,
                &ws,
            ));
        }
        // The product takes a matrix: other shapes go through one, `[rows, in]`.
        let x2 = if xs.len() == 2 {
            x
        } else {
            let rows = xs[..xs.len() - 1].iter().product();
            x.try_reshape(&[rows, features])?
        };
        let y = x2.try_matmul_t(false, self.weight, true)?;
        let y = match self.bias {
            Some(b) => y.try_add(b)?,
            None => y,
        };
        if xs.len() == 2 {
            return Ok(y);
        }
        let mut out_shape = xs;
        *out_shape.last_mut().expect("checked above") = ws[0];
        Ok(y.try_reshape(&out_shape)?)
    }

    fn visit_handles(&self, f: &mut dyn FnMut(&str, Tensor<'t, T>)) {
        f("weight", self.weight);
        if let Some(b) = self.bias {
            f("bias", b);
        }
    }
}
