import appkit  # noqa: I001 - first, see appkit
import streamlit as st

appkit.require_navigation()

st.title("Facial expression recognition")
st.markdown(
    "Finds every face in a webcam stream, a batch of photos or a video, and labels it with one of "
    "seven emotions: **angry, disgust, fear, happy, sad, surprise, neutral**. Convolutional networks trained on "
    "FER2013 read each face; MediaPipe's BlazeFace finds the faces."
)

metrics = appkit.read_report("metrics.json")
if metrics is None:
    st.warning("No `models/metrics.json` beside the model: train one with `python -m fer train`.")
else:
    test, val = metrics["private_test"], metrics["public_test"]
    plus = metrics.get("ferplus", {}).get("private_test")
    columns = iter(st.columns(4))
    if plus is not None:
        next(columns).metric("Accuracy, FER+ majority, PrivateTest", f"{plus['accuracy']:.1%}",
                             help=f"Against the majority of ten annotators (FER+), on the {plus['faces']:,} held-out faces that have one.")
        next(columns).metric("Balanced accuracy, clear faces", f"{metrics['certain']['private_test']['balanced_accuracy']:.1%}",
                             help="Mean recall of the seven emotions on the faces where FER2013's annotator and the FER+ majority agree.")
    next(columns).metric("Accuracy, FER2013 PrivateTest", f"{test['accuracy']:.1%}", help="Against FER2013's single annotator per face; the held-out test set, never used for any choice.")
    next(columns).metric("Macro-F1, PrivateTest", f"{test['macro_f1']:.3f}", help="Mean of the 7 per-class F1 scores on FER2013's labels: rare classes count as much as common ones.")
    if plus is None:
        next(columns).metric("Accuracy, PublicTest", f"{val['accuracy']:.1%}", help="The validation set, used to pick the epoch.")
        next(columns).metric("Test images", f"{sum(sum(r) for r in test['confusion_matrix']):,}")
    st.caption(appkit.WHY_FERPLUS + " Details and the confusion matrices: *Training metrics*.")

st.subheader("What you can do")
st.markdown(
    "- **Live webcam**: every face boxed and labelled in real time, with live charts and a CSV log.\n"
    "- **Bulk photos**: upload images or .zip archives; get a table, a gallery, CSV/JSON/ZIP downloads, "
    "and fix wrong labels to export a dataset for fine-tuning.\n"
    "- **Videos**: emotion over time per face, an annotated video, a CSV.\n"
    "- **Training metrics**: how the model was trained and how good it is, per emotion."
)

st.subheader("Privacy")
st.info(
    "Frames and uploads are processed on the machine running this app, in memory. Nothing is stored "
    "or sent anywhere, and nothing is kept after you close the page, unless you download it yourself."
)
