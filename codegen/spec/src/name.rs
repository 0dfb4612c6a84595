//! The name grammar of new families: `<family>_<dtype>_<part>_<epilogue>`, where `<part>` is
//! the family's own encoding (underscores allowed) and `<epilogue>` is
//! [`Epilogue::tag`](crate::Epilogue::tag) (`none`, `relu2_nnz`, ...). [`compose`] and
//! [`decompose`] are exact inverses. Family `esmm` keeps its original spelling (sparsity tag
//! before the element type) so that the committed tuned tables stay valid.

use crate::common::{Activation, ElemType, Epilogue};
use crate::families::Family;

/// The parts of a name.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct NameParts {
    /// The family.
    pub family: Family,
    /// Element type of the inputs.
    pub dtype: ElemType,
    /// The family's own part (between the element type and the epilogue).
    pub part: String,
    /// The epilogue.
    pub epilogue: Epilogue,
}

/// `<family>_<dtype>_<part>_<epilogue>`.
pub fn compose(family: Family, dtype: ElemType, part: &str, epilogue: Epilogue) -> String {
    format!("{}_{}_{part}_{}", family.key(), dtype.tag(), epilogue.tag())
}

/// The inverse of [`compose`]; errors name the offending part.
pub fn decompose(name: &str) -> Result<NameParts, String> {
    let err = |why: String| format!("`{name}` is not a kernel name: {why}");
    let (key, rest) = name.split_once('_').ok_or_else(|| err("no `_` after the family".into()))?;
    let family = Family::parse(key).map_err(err)?;
    let (dtype, rest) = rest.split_once('_').ok_or_else(|| err("missing the element type".into()))?;
    let dtype = ElemType::from_tag(dtype).ok_or_else(|| err(format!("unknown element type `{dtype}`")))?;
    let (rest, col_nnz) = match rest.strip_suffix("_nnz") {
        Some(r) => (r, true),
        None => (rest, false),
    };
    let (part, act) = rest.rsplit_once('_').ok_or_else(|| err("missing the epilogue".into()))?;
    let activation = Activation::from_tag(act).ok_or_else(|| err(format!("unknown activation `{act}`")))?;
    if part.is_empty() {
        return Err(err("empty family part".into()));
    }
    Ok(NameParts { family, dtype, part: part.to_string(), epilogue: Epilogue { activation, col_nnz } })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn compose_and_decompose_are_inverse() {
        for e in Epilogue::all() {
            for dtype in ElemType::ALL {
                let name = compose(Family::Esmm, dtype, "ab_128x128x8_x", e);
                let p = decompose(&name).unwrap();
                assert_eq!((p.family, p.dtype, p.part.as_str(), p.epilogue), (Family::Esmm, dtype, "ab_128x128x8_x", e));
                assert_eq!(compose(p.family, p.dtype, &p.part, p.epilogue), name);
            }
        }
        for bad in ["", "esmm", "esmm_f64_x_none", "esmm_f32_x_relu3", "esmm_f32_none", "zz_bf16_x_none"] {
            assert!(decompose(bad).is_err(), "{bad}");
        }
    }
}
