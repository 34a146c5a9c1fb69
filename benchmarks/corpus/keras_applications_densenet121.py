# Source: Keras Applications, DenseNet121 ("Densely Connected Convolutional
#   Networks", Huang et al., CVPR 2017)
#   https://keras.io/api/applications/densenet/
#   code: https://github.com/keras-team/keras/blob/master/keras/src/applications/densenet.py
# Simplified: weights=None (random init, nothing downloaded); include_top=True
#   with the default 1000 ImageNet classes and softmax; the default
#   224x224x3 input is given explicitly as keras.Input. The architecture is
#   built by the library itself (only built-in layers: ZeroPadding2D, Conv2D,
#   BatchNormalization, Activation, MaxPooling2D, AveragePooling2D,
#   Concatenate, GlobalAveragePooling2D, Dense).
import keras
from keras import layers  # noqa: F401  (kept for the corpus convention)

model = keras.applications.DenseNet121(
    include_top=True,
    weights=None,
    input_tensor=keras.Input(shape=(224, 224, 3)),
    classes=1000,
    classifier_activation="softmax",
)
