package matchmaking_test

import (
	"bytes"
	"context"
	"io"
	"net/http"
	"sync"
	"testing"

	"github.com/getkin/kin-openapi/openapi3"
	"github.com/getkin/kin-openapi/openapi3filter"
	"github.com/getkin/kin-openapi/routers"
	"github.com/getkin/kin-openapi/routers/legacy"
)

// The API contract, loaded once: every request and response the HTTP
// tests make goes through a transport that validates it against
// docs/openapi.yaml.

var spec struct {
	once   sync.Once
	router routers.Router
	err    error
}

func specRouter(t testing.TB) routers.Router {
	t.Helper()
	spec.once.Do(func() {
		loader := openapi3.NewLoader()
		doc, err := loader.LoadFromFile("../docs/openapi.yaml")
		if err != nil {
			spec.err = err
			return
		}
		if spec.err = doc.Validate(context.Background()); spec.err != nil {
			return
		}
		doc.Servers = nil // match any host
		spec.router, spec.err = legacy.NewRouter(doc)
	})
	if spec.err != nil {
		t.Fatalf("docs/openapi.yaml: %v", spec.err)
	}
	return spec.router
}

func TestOpenAPIDocumentIsValid(t *testing.T) { specRouter(t) }

// contract says how a request is checked against the spec.
type contract int

const (
	checkAll      contract = iota // request and response must conform
	badRequest                    // the request deliberately does not conform; the response must
	responseOnly                  // the request is bad in a way a schema cannot see (trailing data); the response must conform
	notInContract                 // the path or method is not in the spec (404/405 answers)
)

type contractKey struct{}

// withContract marks a request's context.
func withContract(req *http.Request, c contract) *http.Request {
	return req.WithContext(context.WithValue(req.Context(), contractKey{}, c))
}

// validating is an http.RoundTripper that checks each exchange.
type validating struct {
	t    testing.TB
	next http.RoundTripper
}

func (v validating) RoundTrip(req *http.Request) (*http.Response, error) {
	c, _ := req.Context().Value(contractKey{}).(contract)
	var body []byte
	if req.Body != nil {
		body, _ = io.ReadAll(req.Body)
		req.Body.Close()
		req.Body = io.NopCloser(bytes.NewReader(body))
	}
	var input *openapi3filter.RequestValidationInput
	if c != notInContract {
		route, params, err := specRouter(v.t).FindRoute(req)
		if err != nil {
			v.t.Errorf("%s %s: not in docs/openapi.yaml: %v", req.Method, req.URL.Path, err)
		} else {
			vreq := req.Clone(context.Background())
			vreq.Body = io.NopCloser(bytes.NewReader(body))
			input = &openapi3filter.RequestValidationInput{Request: vreq, PathParams: params, Route: route,
				Options: &openapi3filter.Options{AuthenticationFunc: openapi3filter.NoopAuthenticationFunc, IncludeResponseStatus: true}}
			err := openapi3filter.ValidateRequest(context.Background(), input)
			switch {
			case c == checkAll && err != nil:
				v.t.Errorf("%s %s: request does not conform to openapi.yaml: %v", req.Method, req.URL.Path, err)
			case c == badRequest && err == nil:
				v.t.Errorf("%s %s: request marked as deliberately bad conforms to openapi.yaml", req.Method, req.URL.Path)
			}
			req.Body = io.NopCloser(bytes.NewReader(body))
		}
	}
	resp, err := v.next.RoundTrip(req)
	if err != nil || input == nil {
		return resp, err
	}
	rb, err := io.ReadAll(resp.Body)
	resp.Body.Close()
	if err != nil {
		return nil, err
	}
	resp.Body = io.NopCloser(bytes.NewReader(rb))
	rin := &openapi3filter.ResponseValidationInput{RequestValidationInput: input, Status: resp.StatusCode,
		Header: resp.Header, Body: io.NopCloser(bytes.NewReader(rb)), Options: input.Options}
	if err := openapi3filter.ValidateResponse(context.Background(), rin); err != nil {
		v.t.Errorf("%s %s: response %d %s does not conform to openapi.yaml: %v", req.Method, req.URL.Path, resp.StatusCode, rb, err)
	}
	return resp, nil
}
