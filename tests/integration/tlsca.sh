# A throwaway site CA for tests (sourced): the openssl commands README
# "Several hosts" gives, made functions. Everything lives in $1's dir.
#   tlsca_init DIR NAME          a CA (DIR/ca.pem, DIR/ca.key) named NAME
#   tlsca_issue DIR OUT CN [SAN] a certificate OUT.pem/OUT.key signed by
#                                DIR's CA (SAN: "IP:127.0.0.1,DNS:ctl")
#   tlsca_revoke DIR OUT         revoke OUT.pem; DIR/crl.pem written anew
#   tlsca_crl DIR                DIR/crl.pem (no revocation yet)
tlsca_conf() {
	cat >"$1/ca.cnf" <<CNF
[ ca ]
default_ca = site
[ site ]
dir = $1
database = \$dir/index.txt
new_certs_dir = \$dir/newcerts
certificate = \$dir/ca.pem
private_key = \$dir/ca.key
serial = \$dir/serial
crlnumber = \$dir/crlnumber
default_md = sha256
default_days = 30
default_crl_days = 30
policy = any
[ any ]
commonName = supplied
organizationName = optional
[ req ]
distinguished_name = dn
[ dn ]
CNF
}

tlsca_init() {
	mkdir -p "$1/newcerts" || return 1
	: >"$1/index.txt"
	echo 1000 >"$1/serial"
	echo 1000 >"$1/crlnumber"
	tlsca_conf "$1"
	openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes \
		-keyout "$1/ca.key" -out "$1/ca.pem" -days 30 -subj "/O=$2/CN=$2 CA" \
		-addext basicConstraints=critical,CA:TRUE \
		-addext keyUsage=critical,keyCertSign,cRLSign 2>/dev/null &&
		tlsca_crl "$1"
}

tlsca_issue() {
	san=${4:-}
	openssl req -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes \
		-keyout "$2.key" -out "$2.csr" -subj "/O=ABS test/CN=$3" 2>/dev/null ||
		return 1
	{
		echo "basicConstraints=CA:FALSE"
		echo "keyUsage=critical,digitalSignature"
		echo "extendedKeyUsage=serverAuth,clientAuth"
		[ -n "$san" ] && echo "subjectAltName=$san"
	} >"$2.ext"
	openssl ca -batch -config "$1/ca.cnf" -in "$2.csr" -out "$2.pem" \
		-extfile "$2.ext" -notext 2>/dev/null
}

tlsca_revoke() {
	openssl ca -config "$1/ca.cnf" -revoke "$2.pem" 2>/dev/null &&
		tlsca_crl "$1"
}

tlsca_crl() {
	openssl ca -config "$1/ca.cnf" -gencrl -out "$1/crl.pem" 2>/dev/null
}
