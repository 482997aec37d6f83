import appkit  # noqa: I001 - first, see appkit
import pandas as pd
import streamlit as st

from fer import charts

appkit.require_navigation()

st.title("Training metrics")
metrics = appkit.read_report("metrics.json")
history = appkit.read_history()
if metrics is None:
    st.error("`models/metrics.json` is missing: run `python -m fer evaluate --model models/emotion_cnn.keras --data PATH`.")
    st.stop()

test = metrics["private_test"]
st.markdown(
    f"Model `{appkit.model_path_label()}`: **{test['accuracy']:.1%}** accuracy and macro-F1 "
    f"**{test['macro_f1']:.3f}** on FER2013's PrivateTest ({sum(map(sum, test['confusion_matrix'])):,} faces). "
    "Trained on *Training* only; the epoch was chosen on *PublicTest*."
)

if history is not None:
    st.plotly_chart(charts.training_curves(history), width="stretch")
    st.caption("Training loss includes label smoothing and augmentation, so it sits above the validation loss.")

left, right = st.columns(2)
with left:
    st.plotly_chart(charts.confusion_heatmap(test["confusion_matrix"]), width="stretch")
with right:
    st.plotly_chart(charts.per_class_scores(test["per_class"]), width="stretch")
    table = pd.DataFrame(test["per_class"]).T[["precision", "recall", "f1", "support"]]
    st.dataframe(table.style.format({"precision": "{:.3f}", "recall": "{:.3f}", "f1": "{:.3f}"}), width="stretch")

st.plotly_chart(charts.class_distribution(metrics["class_counts"]), width="stretch")

baselines = appkit.read_report("baselines.json")
if baselines:
    st.subheader("Classical baselines (same split)")
    st.dataframe(pd.DataFrame(baselines).T, width="stretch")

config_path = appkit.MODELS_DIR / "config.yaml"
if config_path.is_file():
    with st.expander("Training config"):
        st.code(config_path.read_text(), language="yaml")
