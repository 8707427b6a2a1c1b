package artifactory

import "net/http"

// keepAliveTransport lets requests reuse connections. jfrog-client-go sets req.Close on every request it sends,
// which makes net/http dial a new TCP (and TLS) connection per request and close it after the answer: a run that
// reads a million documents would open a million connections, and leave as many sockets in TIME_WAIT. Keeping
// connections alive changes nothing in what is sent or received.
type keepAliveTransport struct{ next http.RoundTripper }

func (t keepAliveTransport) RoundTrip(req *http.Request) (*http.Response, error) {
	if req.Close {
		r := *req // a shallow copy: a RoundTripper must not modify its request
		r.Close = false
		req = &r
	}
	return t.next.RoundTrip(req)
}
