# Source: "Image classification from scratch" by fchollet, keras.io code example
#   https://keras.io/examples/vision/image_classification_from_scratch/
#   code: https://github.com/keras-team/keras-io/blob/master/examples/vision/image_classification_from_scratch.py
#   (Keras 3 version, "Last modified: 2023/11/09")
# Simplified: dropped dataset download/filtering, image_dataset_from_directory,
#   the data_augmentation Sequential (RandomFlip/RandomRotation; applied to the
#   dataset, not part of the model, in this version), compile, fit and inference.
#   make_model() is inlined at top level with image_size = (180, 180) and
#   num_classes = 2, as published. Rescaling(1/255) is part of the published
#   model and is kept.
# Note: older revisions of this example used a Conv2D(32)+Conv2D(64) entry block
#   and sizes [128, 256, 512, 728] with Dropout(0.5) + sigmoid Dense; this file
#   follows the current Keras 3 version (Conv2D(128) entry block, sizes
#   [256, 512, 728], Dropout(0.25), Dense(units, activation=None) returning
#   logits, trained with BinaryCrossentropy(from_logits=True)).
import keras
from keras import layers

image_size = (180, 180)
input_shape = image_size + (3,)
num_classes = 2

inputs = keras.Input(shape=input_shape)

# Entry block
x = layers.Rescaling(1.0 / 255)(inputs)
x = layers.Conv2D(128, 3, strides=2, padding="same")(x)
x = layers.BatchNormalization()(x)
x = layers.Activation("relu")(x)

previous_block_activation = x  # Set aside residual

for size in [256, 512, 728]:
    x = layers.Activation("relu")(x)
    x = layers.SeparableConv2D(size, 3, padding="same")(x)
    x = layers.BatchNormalization()(x)

    x = layers.Activation("relu")(x)
    x = layers.SeparableConv2D(size, 3, padding="same")(x)
    x = layers.BatchNormalization()(x)

    x = layers.MaxPooling2D(3, strides=2, padding="same")(x)

    # Project residual
    residual = layers.Conv2D(size, 1, strides=2, padding="same")(
        previous_block_activation
    )
    x = layers.add([x, residual])  # Add back residual
    previous_block_activation = x  # Set aside next residual

x = layers.SeparableConv2D(1024, 3, padding="same")(x)
x = layers.BatchNormalization()(x)
x = layers.Activation("relu")(x)

x = layers.GlobalAveragePooling2D()(x)
if num_classes == 2:
    units = 1
else:
    units = num_classes

x = layers.Dropout(0.25)(x)
# We specify activation=None so as to return logits
outputs = layers.Dense(units, activation=None)(x)
model = keras.Model(inputs, outputs)
