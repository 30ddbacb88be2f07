"""The link benchmark's model builder: a real MLPerf Tiny model's weights as a tagged .dcb the
device verifier accepts (checked with the host reader and HMAC)."""
from bench.link_bench import KEY, weights_container
from host.container.hmac_tag import verify_device_tag
from host.container.reader import open_container


def test_kws_weights_container(mlperf_tiny):
    data = weights_container("kws01", mlperf_tiny / "kws_ref_model.tflite", 1)
    container = open_container(data)
    verify_device_tag(container, KEY)
    assert container.metadata.model.name == "kws01" and len(container.entries) == 10
    assert sum(e.level_count for e in container.entries) > 20000
