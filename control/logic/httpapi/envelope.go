package httpapi

import (
	"encoding/json"
	"net/http"

	"github.com/cloudwego/hertz/pkg/app"

	"github.com/goim-edge/goim-edge/control/logic"
)

// contentType is what goim (gin's c.JSON) sends.
const contentType = "application/json; charset=utf-8"

// okEnvelope is goim's plain success, exactly these 23 bytes.
var okEnvelope = []byte(`{"code":0,"message":""}`)

// envelope is goim's response shape; data is left out when there is none.
type envelope struct {
	Code    int32  `json:"code"`
	Message string `json:"message"`
	Data    any    `json:"data,omitempty"`
}

func writeOK(c *app.RequestContext) {
	c.Data(http.StatusOK, contentType, okEnvelope)
}

func writeData(c *app.RequestContext, data any) {
	b, err := json.Marshal(envelope{Data: data})
	if err != nil {
		writeError(c, err)
		return
	}
	c.Data(http.StatusOK, contentType, b)
}

// writeError answers -400/HTTP 400 for the caller's mistakes and
// -500/HTTP 500 for everything else, with the error text as the message.
func writeError(c *app.RequestContext, err error) {
	code := logic.Code(err)
	status := http.StatusInternalServerError
	if code == logic.CodeBadRequest {
		status = http.StatusBadRequest
	}
	writeCode(c, status, code, err.Error())
}

func writeCode(c *app.RequestContext, status int, code int32, msg string) {
	b, _ := json.Marshal(envelope{Code: code, Message: msg}) // strings always encode
	c.Data(status, contentType, b)
}
