"""Drive the sandbox's GKE and Compute REST APIs with Debian's
python3-googleapi (googleapiclient), a client built at run time from
Google's own discovery documents of container/v1 and compute/v1.

Reads: DISCOVERY_CONTAINER, DISCOVERY_COMPUTE (paths of the documents),
GKE_URL, COMPUTE_URL (the sandbox's endpoints), TOKEN (an access token
from the sandbox's token endpoint), PROJECT. Prints one JSON object with
what it saw; the Go test asserts on it.
"""
import json
import os
import sys

import httplib2
from googleapiclient import discovery, errors


class BearerHttp(httplib2.Http):
    """httplib2 with the access token on every request."""

    def request(self, uri, method="GET", body=None, headers=None, **kw):
        headers = dict(headers or {})
        headers["authorization"] = "Bearer " + os.environ["TOKEN"]
        return super().request(uri, method=method, body=body, headers=headers, **kw)


def client(doc_path, root):
    with open(doc_path) as f:
        doc = json.load(f)
    doc["rootUrl"] = root.rstrip("/") + "/"
    doc["mtlsRootUrl"] = doc["rootUrl"]
    return discovery.build_from_document(doc, http=BearerHttp())


def http_error(call):
    try:
        call.execute()
    except errors.HttpError as e:
        body = json.loads(e.content.decode())
        return {"status": e.resp.status, "error": body["error"]}
    return None


def main():
    project = os.environ["PROJECT"]
    out = {}
    gke = client(os.environ["DISCOVERY_CONTAINER"], os.environ["GKE_URL"])
    parent = "projects/%s/locations/us-central1" % project
    out["clusters"] = gke.projects().locations().clusters().list(parent=parent).execute()
    out["cluster"] = gke.projects().locations().clusters().get(name=parent + "/clusters/demo").execute()
    op = gke.projects().locations().clusters().nodePools().setSize(
        name=parent + "/clusters/demo/nodePools/system", body={"nodeCount": 2}).execute()
    out["setSize"] = op
    out["zonalNodePools"] = gke.projects().zones().clusters().nodePools().list(
        projectId=project, zone="us-central1", clusterId="demo").execute()
    out["missing"] = http_error(gke.projects().locations().clusters().get(name=parent + "/clusters/nope"))
    out["badLabels"] = http_error(gke.projects().locations().clusters().setResourceLabels(
        name=parent + "/clusters/demo",
        body={"resourceLabels": {"Env": "prod"}, "labelFingerprint": out["cluster"]["labelFingerprint"]}))

    compute = client(os.environ["DISCOVERY_COMPUTE"], os.environ["COMPUTE_URL"])
    out["subnetworks"] = compute.subnetworks().aggregatedList(project=project, filter='name = "nodes"').execute()
    out["migs"] = compute.instanceGroupManagers().aggregatedList(project=project).execute()
    results = {}

    def collect(request_id, response, exception):
        results[request_id] = {"response": response, "status": getattr(getattr(exception, "resp", None), "status", None)}

    batch = compute.new_batch_http_request(callback=collect)
    batch.add(compute.networks().get(project=project, network="net"), request_id="net")
    batch.add(compute.networks().get(project=project, network="nope"), request_id="nope")
    batch.execute()
    out["batch"] = results
    out["ghostProject"] = http_error(compute.networks().list(project="no-such-project"))
    json.dump(out, sys.stdout)


if __name__ == "__main__":
    main()
