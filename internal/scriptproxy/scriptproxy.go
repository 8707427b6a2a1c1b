// Package scriptproxy is an HTTPS proxy for one host name, with a certificate authority made for the run. It lets
// the unmodified skopeo#2497 script, whose `skopeo delete docker://artifactory.example.com/...` has its host written
// in, reach the Artifactory emulator: skopeo 1.9 applies no registries.conf remap to delete, but honours HTTPS_PROXY
// and SSL_CERT_FILE. The end-to-end suite and the benchmark both use it.
package scriptproxy

import (
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/tls"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/pem"
	"errors"
	"fmt"
	"math/big"
	"net"
	"net/http"
	"net/http/httputil"
	"net/url"
	"os"
	"sync"
	"sync/atomic"
	"time"
)

// Proxy accepts CONNECT host:443 only, terminates TLS there with a certificate of its own CA, and forwards the
// requests to the target; plain proxied requests for host are forwarded too. Anything else is refused.
type Proxy struct {
	// Addr is the proxy's address (host:port), for HTTPS_PROXY=http://Addr.
	Addr string
	// CAFile holds the CA certificate (PEM), for SSL_CERT_FILE.
	CAFile string

	requests     atomic.Int64
	outer, inner *http.Server
	tunnels      *connListener
	served       chan error
}

// Start listens on listen (such as 127.0.0.1:0), writes the CA certificate to caFile and serves host by forwarding
// to target (the emulator's base URL, http://127.0.0.1:PORT). Close stops it.
func Start(listen, host, target, caFile string) (*Proxy, error) {
	tu, err := url.Parse(target)
	if err != nil || tu.Host == "" {
		return nil, fmt.Errorf("scriptproxy: target %q: want http://HOST:PORT", target)
	}
	caPEM, leaf, err := makeCertificates(host)
	if err != nil {
		return nil, err
	}
	if err := os.WriteFile(caFile, caPEM, 0o644); err != nil {
		return nil, err
	}
	p := &Proxy{CAFile: caFile, tunnels: newConnListener(), served: make(chan error, 1)}
	forward := &httputil.ReverseProxy{Rewrite: func(pr *httputil.ProxyRequest) {
		p.requests.Add(1)
		pr.SetURL(tu) // the Host becomes the emulator's: its token realm then points at it directly (loopback, no proxy)
	}}
	p.inner = &http.Server{Handler: forward, ReadHeaderTimeout: 30 * time.Second}
	go func() { _ = p.inner.Serve(p.tunnels) }()
	tlsConf := &tls.Config{Certificates: []tls.Certificate{leaf}, MinVersion: tls.VersionTLS12}
	p.outer = &http.Server{ReadHeaderTimeout: 30 * time.Second, Handler: http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		switch {
		case r.Method == http.MethodConnect && r.Host == host+":443":
			p.tunnel(w, tlsConf)
		case r.Method != http.MethodConnect && r.URL.IsAbs() && r.URL.Hostname() == host:
			forward.ServeHTTP(w, r)
		default:
			http.Error(w, "scriptproxy: only "+host, http.StatusForbidden)
		}
	})}
	ln, err := net.Listen("tcp", listen)
	if err != nil {
		_ = p.inner.Close()
		return nil, err
	}
	p.Addr = ln.Addr().String()
	go func() { p.served <- p.outer.Serve(ln) }()
	return p, nil
}

func (p *Proxy) tunnel(w http.ResponseWriter, tlsConf *tls.Config) {
	hj, ok := w.(http.Hijacker)
	if !ok {
		http.Error(w, "scriptproxy: cannot hijack", http.StatusInternalServerError)
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
	p.tunnels.push(tls.Server(conn, tlsConf))
}

// Requests returns how many requests the proxy forwarded.
func (p *Proxy) Requests() int64 { return p.requests.Load() }

// Wait blocks until the proxy stops serving and returns why.
func (p *Proxy) Wait() error { return <-p.served }

// Close stops the proxy.
func (p *Proxy) Close() error {
	err := p.outer.Close()
	_ = p.tunnels.Close()
	return errors.Join(err, p.inner.Close())
}

// connListener is a net.Listener fed with the proxy's TLS tunnels.
type connListener struct {
	ch     chan net.Conn
	closed chan struct{}
	once   sync.Once
}

func newConnListener() *connListener {
	return &connListener{ch: make(chan net.Conn), closed: make(chan struct{})}
}

func (l *connListener) push(c net.Conn) {
	select {
	case l.ch <- c:
	case <-l.closed:
		c.Close()
	}
}

func (l *connListener) Accept() (net.Conn, error) {
	select {
	case c := <-l.ch:
		return c, nil
	case <-l.closed:
		return nil, net.ErrClosed
	}
}

func (l *connListener) Close() error {
	l.once.Do(func() { close(l.closed) })
	return nil
}

func (l *connListener) Addr() net.Addr { return &net.TCPAddr{IP: net.IPv4(127, 0, 0, 1)} }

// makeCertificates makes a CA for the run and a server certificate for host signed by it.
func makeCertificates(host string) ([]byte, tls.Certificate, error) {
	caKey, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		return nil, tls.Certificate{}, err
	}
	now := time.Now()
	caTmpl := &x509.Certificate{
		SerialNumber: big.NewInt(1), Subject: pkix.Name{CommonName: "artprune scriptproxy CA"},
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
