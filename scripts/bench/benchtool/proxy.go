package main

import (
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/tls"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/pem"
	"errors"
	"flag"
	"fmt"
	"math/big"
	"net"
	"net/http"
	"net/http/httputil"
	"net/url"
	"os"
	"time"
)

// runProxy serves the HTTPS proxy for the seed script's skopeo. skopeo 1.9 does not apply a registries.conf
// location remap to `skopeo delete`, so the script's hard-coded host is reached through HTTPS_PROXY instead.
func runProxy(args []string) error {
	fs := flag.NewFlagSet("proxy", flag.ContinueOnError)
	listen := fs.String("listen", "127.0.0.1:0", "address to listen on")
	target := fs.String("target", "", "emulator base URL, http://127.0.0.1:PORT")
	host := fs.String("host", "artifactory.example.com", "the only host the proxy serves")
	caFile := fs.String("ca", "", "file to write the CA certificate to (PEM)")
	if err := fs.Parse(args); err != nil {
		return err
	}
	tu, err := url.Parse(*target)
	if err != nil || tu.Host == "" || *caFile == "" {
		return errors.New("proxy: --target http://HOST:PORT and --ca FILE are required")
	}
	caPEM, leaf, err := makeCertificates(*host)
	if err != nil {
		return err
	}
	if err := os.WriteFile(*caFile, caPEM, 0o644); err != nil {
		return err
	}
	forward := &httputil.ReverseProxy{Rewrite: func(pr *httputil.ProxyRequest) {
		// The Host becomes the emulator's, so its token realm points at it directly (loopback, no proxy).
		pr.SetURL(tu)
	}}
	tunnels := &connListener{ch: make(chan net.Conn)}
	inner := &http.Server{Handler: forward, ReadHeaderTimeout: 30 * time.Second}
	go func() { _ = inner.Serve(tunnels) }()
	tlsConf := &tls.Config{Certificates: []tls.Certificate{leaf}, MinVersion: tls.VersionTLS12}
	outer := &http.Server{ReadHeaderTimeout: 30 * time.Second, Handler: http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.Method != http.MethodConnect || r.Host != *host+":443" {
			http.Error(w, "bench proxy: only CONNECT "+*host+":443", http.StatusForbidden)
			return
		}
		hj, ok := w.(http.Hijacker)
		if !ok {
			http.Error(w, "bench proxy: cannot hijack", http.StatusInternalServerError)
			return
		}
		conn, _, err := hj.Hijack()
		if err != nil {
			return
		}
		if _, err := conn.Write([]byte("HTTP/1.1 200 Connection Established\r\n\r\n")); err != nil {
			conn.Close()
			return
		}
		tunnels.ch <- tls.Server(conn, tlsConf)
	})}
	ln, err := net.Listen("tcp", *listen)
	if err != nil {
		return err
	}
	fmt.Println("proxy listening on", ln.Addr())
	return outer.Serve(ln)
}

// connListener is a net.Listener fed with the proxy's TLS tunnels.
type connListener struct{ ch chan net.Conn }

func (l *connListener) Accept() (net.Conn, error) {
	c, ok := <-l.ch
	if !ok {
		return nil, net.ErrClosed
	}
	return c, nil
}

func (l *connListener) Close() error { return nil }

func (l *connListener) Addr() net.Addr { return &net.TCPAddr{IP: net.IPv4(127, 0, 0, 1)} }

// makeCertificates makes a CA for the run and a certificate for host signed by it.
func makeCertificates(host string) ([]byte, tls.Certificate, error) {
	caKey, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		return nil, tls.Certificate{}, err
	}
	now := time.Now()
	caTmpl := &x509.Certificate{
		SerialNumber: big.NewInt(1), Subject: pkix.Name{CommonName: "artprune bench CA"},
		NotBefore: now.Add(-time.Hour), NotAfter: now.Add(48 * time.Hour),
		IsCA: true, BasicConstraintsValid: true, KeyUsage: x509.KeyUsageCertSign | x509.KeyUsageDigitalSignature,
	}
	caDER, err := x509.CreateCertificate(rand.Reader, caTmpl, caTmpl, &caKey.PublicKey, caKey)
	if err != nil {
		return nil, tls.Certificate{}, err
	}
	ca, err := x509.ParseCertificate(caDER)
	if err != nil {
		return nil, tls.Certificate{}, err
	}
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		return nil, tls.Certificate{}, err
	}
	leafTmpl := &x509.Certificate{
		SerialNumber: big.NewInt(2), Subject: pkix.Name{CommonName: host}, DNSNames: []string{host},
		NotBefore: now.Add(-time.Hour), NotAfter: now.Add(48 * time.Hour),
		KeyUsage: x509.KeyUsageDigitalSignature, ExtKeyUsage: []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth},
	}
	leafDER, err := x509.CreateCertificate(rand.Reader, leafTmpl, ca, &key.PublicKey, caKey)
	if err != nil {
		return nil, tls.Certificate{}, err
	}
	caPEM := pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: caDER})
	return caPEM, tls.Certificate{Certificate: [][]byte{leafDER}, PrivateKey: key}, nil
}
