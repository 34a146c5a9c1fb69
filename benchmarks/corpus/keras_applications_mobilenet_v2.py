# Source: Keras Applications, MobileNetV2 ("MobileNetV2: Inverted Residuals and
#   Linear Bottlenecks", Sandler et al., CVPR 2018)
#   https://keras.io/api/applications/mobilenet/#mobilenetv2-function
#   code: https://github.com/keras-team/keras/blob/master/keras/src/applications/mobilenet_v2.py
# Simplified: weights=None (random init, nothing downloaded); include_top=True
#   with alpha=1.0 and the default 1000 ImageNet classes and softmax; the
#   default 224x224x3 input is given explicitly as keras.Input. The
#   architecture is built by the library itself (only built-in layers: Conv2D,
#   BatchNormalization, ReLU, DepthwiseConv2D, ZeroPadding2D, Add,
#   GlobalAveragePooling2D, Dense).
import keras
from keras import layers  # noqa: F401  (kept for the corpus convention)

model = keras.applications.MobileNetV2(
    input_tensor=keras.Input(shape=(224, 224, 3)),
    alpha=1.0,
    include_top=True,
    weights=None,
    classes=1000,
    classifier_activation="softmax",
)
