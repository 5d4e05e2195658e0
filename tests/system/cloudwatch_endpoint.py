"""A CloudWatch stand-in on 127.0.0.1: every request's SigV4 signature is recomputed
with botocore (Debian's python3-botocore) for the same credentials, X-Amz-Date and body,
and its PutMetricData form body is parsed into datums. Nothing here reaches AWS."""
import re
import ssl
import threading
import urllib.parse
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

from botocore.auth import SigV4Auth
from botocore.awsrequest import AWSRequest
from botocore.credentials import Credentials

AUTH = re.compile(r"AWS4-HMAC-SHA256 Credential=([^/]+)/(\d{8})/([^/]+)/([^/]+)/aws4_request, "
                  r"SignedHeaders=([^,]+), Signature=([0-9a-f]{64})$")

ERROR_400 = ("<ErrorResponse><Error><Type>Sender</Type><Code>InvalidParameterValue</Code>"
             "<Message>The value for dimension To is invalid.</Message>"
             "</Error></ErrorResponse>")
ERROR_403 = ("<ErrorResponse><Error><Type>Sender</Type><Code>InvalidClientTokenId</Code>"
             "<Message>The security token included in the request is invalid.</Message>"
             "</Error></ErrorResponse>")


def verify_sigv4(headers, path, body, creds, region):
    """None if the signature is right, else why not."""
    headers = {k.lower(): v for k, v in headers.items()}
    m = AUTH.match(headers.get("authorization", ""))
    if not m:
        return "no SigV4 Authorization header"
    akid, date, reg, service, signed, signature = m.groups()
    if akid != creds.access_key or reg != region or service != "monitoring":
        return f"wrong scope {akid}/{reg}/{service}"
    amz_date = headers.get("x-amz-date", "")
    if not amz_date.startswith(date):
        return "X-Amz-Date does not match the credential scope"
    if creds.token and headers.get("x-amz-security-token") != creds.token:
        return "session token missing"
    names = signed.split(";")
    if creds.token and "x-amz-security-token" not in names:
        return "session token not signed"
    req = AWSRequest(method="POST", url=f"http://{headers['host']}{path}", data=body,
                     headers={n: headers[n] for n in names})
    req.context["timestamp"] = amz_date
    signer = SigV4Auth(creds, "monitoring", region)
    expected = signer.signature(signer.string_to_sign(req, signer.canonical_request(req)), req)
    return None if expected == signature else "signature mismatch"


def parse_datums(body):
    form = urllib.parse.parse_qs(body.decode(), keep_blank_values=True)
    one = {k: v[0] for k, v in form.items()}
    datums = {}
    for key, value in one.items():
        m = re.match(r"MetricData\.member\.(\d+)\.(.+)$", key)
        if m:
            datums.setdefault(int(m.group(1)), {})[m.group(2)] = value
    out = []
    for n in sorted(datums):
        d = datums[n]
        dims = {}
        i = 1
        while f"Dimensions.member.{i}.Name" in d:
            dims[d[f"Dimensions.member.{i}.Name"]] = d[f"Dimensions.member.{i}.Value"]
            i += 1
        values, counts = [], []
        if "Value" in d:
            values, counts = [float(d["Value"])], [1.0]
        i = 1
        while f"Values.member.{i}" in d:
            values.append(float(d[f"Values.member.{i}"]))
            counts.append(float(d[f"Counts.member.{i}"]))
            i += 1
        out.append({"name": d["MetricName"], "dims": dims, "unit": d.get("Unit"),
                    "timestamp": d.get("Timestamp"), "values": values, "counts": counts,
                    "resolution": d.get("StorageResolution"), "dim_order": list(dims)})
    return one, out


class Endpoint:
    """answer: a list of status codes to give, in order, then 200 forever.
    refuse: a predicate on a request's datums; true answers 400 InvalidParameterValue, as
    CloudWatch refuses a whole request for one bad datum. name_culprit: the message names
    the first bad datum's member number, as CloudWatch's messages do. tls: (certificate,
    key) files to answer https, as CloudWatch does, offering the ALPN protocols alpn; each
    request's HTTP version and ALPN protocol are kept."""

    def __init__(self, creds, region="us-east-1", port=0, tls=None, alpn=("h2", "http/1.1")):
        self.creds, self.region = creds, region
        self.requests, self.bad, self.answers = [], [], []
        self.refuse = None
        self.name_culprit = False
        self.lock = threading.Lock()
        outer = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self):
                body = self.rfile.read(int(self.headers.get("Content-Length", 0)))
                try:
                    why = verify_sigv4(dict(self.headers.items()), self.path, body,
                                       outer.creds, outer.region)
                except Exception as e:  # a malformed request is a failed check
                    why = f"cannot check: {e!r}"
                with outer.lock:
                    status = outer.answers.pop(0) if outer.answers else 200
                    form, datums = parse_datums(body)
                    culprit = None
                    if outer.refuse:
                        bad = [i for i, x in enumerate(datums, 1) if outer.refuse([x])]
                        if bad:
                            status, culprit = 400, bad[0]
                    entry = {"status": status, "form": form, "datums": datums,
                             "culprit": culprit, "version": self.request_version,
                             "alpn": getattr(self.connection, "selected_alpn_protocol",
                                             lambda: None)()}
                    (outer.bad if why else outer.requests).append(why or entry)
                if why:
                    status = 403
                error_400 = ERROR_400
                if culprit and outer.name_culprit:
                    error_400 = ERROR_400.replace(
                        "dimension To", f"parameter MetricData.member.{culprit}.Dimensions."
                        "member.2.Value")
                payload = ERROR_403 if status == 403 else error_400 if status == 400 else (
                    "<PutMetricDataResponse/>" if status == 200 else "<Error/>")
                data = payload.encode()
                self.send_response(status)
                self.send_header("Content-Type", "text/xml")
                self.send_header("Content-Length", str(len(data)))
                self.end_headers()
                self.wfile.write(data)

            def log_message(self, *args):
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", port), Handler)
        scheme = "http"
        if tls:
            context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
            context.load_cert_chain(*tls)
            context.set_alpn_protocols(list(alpn))  # h2 is offered, never spoken
            self.server.socket = context.wrap_socket(self.server.socket, server_side=True)
            scheme = "https"
        self.url = f"{scheme}://127.0.0.1:{self.server.server_address[1]}/"
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)
        self.thread.start()

    def accepted(self):
        with self.lock:
            return [r for r in self.requests if r["status"] == 200]

    def close(self):
        self.server.shutdown()
        self.server.server_close()


def credentials(token=None):
    return Credentials("AKIDEXAMPLE", "wJalrXUtnFEMI/K7MDENG+bPxRfiCYEXAMPLEKEY", token)
