//! libvirt's typed parameters (`virTypedParameter`), copied into owned values: the bulk stats
//! records are lists of them, and so are the node's CPU times.

use std::ffi::{CStr, c_char, c_int};
use virt_sys as sys;

/// One typed parameter value, as libvirt sent it.
#[derive(Debug, Clone, PartialEq)]
pub enum ParamValue {
    Int(i64),
    UInt(u64),
    Double(f64),
    Bool(bool),
    Str(String),
}

impl ParamValue {
    pub fn as_u64(&self) -> Option<u64> {
        match *self {
            ParamValue::Int(v) => u64::try_from(v).ok(),
            ParamValue::UInt(v) => Some(v),
            ParamValue::Double(v) if v >= 0.0 => Some(v as u64),
            _ => None,
        }
    }
    pub fn as_str(&self) -> Option<&str> {
        match self {
            ParamValue::Str(s) => Some(s),
            _ => None,
        }
    }
}

/// # Safety
/// `params` must point at `n` initialised `virTypedParameter`s (or be NULL with n <= 0).
pub(super) unsafe fn read_params(
    params: *const sys::virTypedParameter,
    n: c_int,
) -> Vec<(String, ParamValue)> {
    if params.is_null() || n <= 0 {
        return Vec::new();
    }
    // SAFETY: guaranteed by the caller.
    let slice = unsafe { std::slice::from_raw_parts(params, n as usize) };
    slice
        .iter()
        .filter_map(|p| {
            // SAFETY: the union member read is the one `type_` names.
            let v = unsafe {
                match p.type_ as u32 {
                    sys::VIR_TYPED_PARAM_INT => ParamValue::Int(i64::from(p.value.i)),
                    sys::VIR_TYPED_PARAM_UINT => ParamValue::UInt(u64::from(p.value.ui)),
                    sys::VIR_TYPED_PARAM_LLONG => ParamValue::Int(p.value.l),
                    sys::VIR_TYPED_PARAM_ULLONG => ParamValue::UInt(p.value.ul),
                    sys::VIR_TYPED_PARAM_DOUBLE => ParamValue::Double(p.value.d),
                    sys::VIR_TYPED_PARAM_BOOLEAN => ParamValue::Bool(p.value.b != 0),
                    sys::VIR_TYPED_PARAM_STRING if !p.value.s.is_null() => {
                        ParamValue::Str(CStr::from_ptr(p.value.s).to_string_lossy().into_owned())
                    }
                    _ => return None,
                }
            };
            Some((field_name(&p.field), v))
        })
        .collect()
}

pub(super) fn field_name(field: &[c_char; 80]) -> String {
    let bytes: Vec<u8> = field
        .iter()
        .take_while(|&&c| c != 0)
        .map(|&c| c as u8)
        .collect();
    String::from_utf8_lossy(&bytes).into_owned()
}
