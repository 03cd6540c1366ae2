//! SeaTunnel's `DES_ENCRYPT(password, text)` and `DES_DECRYPT(password, text)` (its `DESUtil`):
//! DES in CBC mode with PKCS#5 padding, the key the password's first 8 UTF-8 bytes, the IV
//! `12345678`, the cipher text in base64. As in SeaTunnel, a password under 8 characters is an
//! error, and a text that does not decrypt comes back unchanged.

use super::value::text;
use super::{call_error, Returns, RowFunction};
use arrow::datatypes::DataType;
use base64::Engine;
use cbc::cipher::block_padding::Pkcs7;
use cbc::cipher::{BlockDecryptMut, BlockEncryptMut, KeyIvInit};
use datafusion::common::{Result, ScalarValue};

const IV: &[u8; 8] = b"12345678";

pub(super) fn functions() -> Vec<RowFunction> {
    vec![
        RowFunction::new(
            "des_encrypt",
            &[2],
            Returns::Type(DataType::Utf8),
            |a, _| {
                let (Some(password), Some(data)) = (text(&a[0]), a.get(1).and_then(text)) else {
                    return Ok(ScalarValue::Utf8(None));
                };
                Ok(ScalarValue::Utf8(Some(encrypt(&password, &data)?)))
            },
        ),
        RowFunction::new(
            "des_decrypt",
            &[2],
            Returns::Type(DataType::Utf8),
            |a, _| {
                let (Some(password), Some(data)) = (text(&a[0]), a.get(1).and_then(text)) else {
                    return Ok(ScalarValue::Utf8(None));
                };
                Ok(ScalarValue::Utf8(Some(decrypt(&password, &data)?)))
            },
        ),
    ]
}

fn key(password: &str, function: &str) -> Result<[u8; 8]> {
    let bytes = password.as_bytes();
    if password.chars().count() < 8 || bytes.len() < 8 {
        return Err(call_error(
            function,
            "the password must be at least 8 characters",
        ));
    }
    let mut key = [0u8; 8];
    key.copy_from_slice(&bytes[..8]);
    Ok(key)
}

fn encrypt(password: &str, data: &str) -> Result<String> {
    let key = key(password, "des_encrypt")?;
    let cipher = cbc::Encryptor::<des::Des>::new(&key.into(), IV.into());
    let bytes = cipher.encrypt_padded_vec_mut::<Pkcs7>(data.as_bytes());
    Ok(base64::engine::general_purpose::STANDARD.encode(bytes))
}

fn decrypt(password: &str, data: &str) -> Result<String> {
    let key = key(password, "des_decrypt")?;
    let Ok(bytes) = base64::engine::general_purpose::STANDARD.decode(data.trim()) else {
        return Ok(data.to_string());
    };
    let cipher = cbc::Decryptor::<des::Des>::new(&key.into(), IV.into());
    Ok(match cipher.decrypt_padded_vec_mut::<Pkcs7>(&bytes) {
        Ok(plain) => String::from_utf8(plain).unwrap_or_else(|_| data.to_string()),
        Err(_) => data.to_string(),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn des_round_trips_and_matches_javas_cipher() {
        let secret = encrypt("1234567890", "Joy Ding").unwrap();
        // What Java's DES/CBC/PKCS5Padding gives for this key, IV and text (run with JDK 17).
        assert_eq!(secret, "+jXI7ngL1UzB8yoBYEVgoQ==");
        assert_eq!(decrypt("1234567890", &secret).unwrap(), "Joy Ding");
        assert_eq!(decrypt("1234567890", "not base64!").unwrap(), "not base64!");
        assert!(encrypt("short", "x").is_err());
    }
}
