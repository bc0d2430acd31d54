//! The S3 adapter: a conditional GetObject for `HEALTH_CHECKS_URL`.

use async_trait::async_trait;
use aws_config::SdkConfig;
use ops_shared::error::{sdk_message, sdk_retryable};

use crate::checks_file::{ObjectStore, Read, MAX_FILE_BYTES};

pub struct S3Objects {
    client: aws_sdk_s3::Client,
}

impl S3Objects {
    pub fn new(sdk: &SdkConfig) -> Self {
        let mut config = aws_sdk_s3::config::Builder::from(sdk);
        // A local endpoint (the emulator) has no per-bucket host names.
        if std::env::var_os("AWS_ENDPOINT_URL").is_some() || std::env::var_os("AWS_ENDPOINT_URL_S3").is_some()
        {
            config = config.force_path_style(true);
        }
        Self {
            client: aws_sdk_s3::Client::from_conf(config.build()),
        }
    }
}

#[async_trait]
impl ObjectStore for S3Objects {
    async fn read(&self, bucket: &str, key: &str, etag: Option<&str>) -> Result<Read, (String, bool)> {
        let answer = self
            .client
            .get_object()
            .bucket(bucket)
            .key(key)
            .set_if_none_match(etag.map(str::to_string))
            .send()
            .await;
        let out = match answer {
            Ok(out) => out,
            // 304 Not Modified comes back as an error without a code.
            Err(e) if e.raw_response().is_some_and(|r| r.status().as_u16() == 304) => {
                return Ok(Read::Unchanged)
            }
            Err(e) => {
                return Err((
                    format!("s3:GetObject failed: {}", sdk_message(&e)),
                    sdk_retryable(&e),
                ))
            }
        };
        if out.content_length().unwrap_or_default() as usize > MAX_FILE_BYTES {
            return Err((
                format!(
                    "it is {} bytes, over the {MAX_FILE_BYTES} this function reads",
                    out.content_length().unwrap_or_default()
                ),
                false,
            ));
        }
        let etag = out.e_tag().unwrap_or_default().to_string();
        let body = out
            .body
            .collect()
            .await
            .map_err(|e| (format!("reading the object failed: {e}"), true))?
            .into_bytes()
            .to_vec();
        Ok(Read::Changed { body, etag })
    }
}
